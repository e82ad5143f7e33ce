// The test bed's JMX exporter agent: this project's own few lines around the real rule engine of
// the Prometheus JMX exporter 1.5.0 (io.prometheus.jmx:collector 1.5.0, the version in Strimzi
// 0.51's image) and its real text exposition (prometheus-metrics-exporter-httpserver 1.4.1), both
// resolved from Maven Central by scripts/kafka-fetch.sh. Why not the upstream agent jar: the
// registry this project may use does not serve jmx_prometheus_javaagent 1.5.0. What decides which
// series a rule set exports (pattern matching, name mangling, labels, value types) is all in the
// collector, so rules are exercised exactly as users deploy them.
package dev.kubectlmm2.testbed;

import io.prometheus.jmx.JmxCollector;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.File;
import java.lang.instrument.Instrumentation;
import java.net.InetAddress;

public final class TestbedJmxAgent {
    private TestbedJmxAgent() {}

    /**
     * {@code -javaagent:agent.jar=[HOST:]PORT:CONFIG}, the argument Strimzi passes
     * ({@code 9404:/opt/kafka/custom-config/metrics-config.yml}).
     */
    public static void premain(String args, Instrumentation instrumentation) throws Exception {
        String[] parts = args.split(":");
        if (parts.length < 2 || parts.length > 3) {
            throw new IllegalArgumentException("expected [HOST:]PORT:CONFIG, got " + args);
        }
        String host = parts.length == 3 ? parts[0] : "0.0.0.0";
        int port = Integer.parseInt(parts[parts.length - 2]);
        File config = new File(parts[parts.length - 1]);
        PrometheusRegistry registry = PrometheusRegistry.defaultRegistry;
        // The upstream agent exports JVM metrics unless told not to; so do we.
        JvmMetrics.builder().register(registry);
        new JmxCollector(config, JmxCollector.Mode.AGENT).register(registry);
        HTTPServer.builder()
                .inetAddress(InetAddress.getByName(host))
                .port(port)
                .registry(registry)
                .buildAndStart();
    }
}
