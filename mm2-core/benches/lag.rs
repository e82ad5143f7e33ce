//! Lag parsing benchmark: a 10,000-partition MirrorMaker 2 scrape (two pods, consumer-fetch-manager
//! and MirrorSourceConnector families as jmx_exporter writes them), parsed and aggregated by
//! `mm2_core::lag`, against parsing alone with prometheus-parse 0.2.5.
//!
//! A counting global allocator reports peak heap use relative to the input size.

use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt::Write as _;
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mm2_core::lag::{self, Direction, PodScrape};

/// System allocator that tracks live and peak bytes.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged to the system allocator.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            grow(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `alloc`/`realloc` above with this layout.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as GlobalAlloc::realloc, forwarded.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            grow(new_size);
        }
        new
    }
}

fn grow(size: usize) {
    let live = LIVE.fetch_add(size, Ordering::Relaxed) + size;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Peak heap bytes allocated by `f` above what was live when it started.
fn peak_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let out = f();
    (out, PEAK.load(Ordering::Relaxed).saturating_sub(base))
}

const PARTITIONS: u32 = 10_000;
const TOPICS: u32 = 100;
const CLIENT: &str = r#""\"proxmox->aws|proxmox->aws.MirrorSourceConnector|replication-consumer\"""#;
const CONSUMER_ATTRS: [&str; 5] = [
    "records_lag",
    "records_lag_avg",
    "records_lead",
    "records_lead_avg",
    "preferred_read_replica",
];
const MIRROR_ATTRS: [&str; 12] = [
    "record_count",
    "record_rate",
    "record_age_ms",
    "record_age_ms_max",
    "record_age_ms_min",
    "record_age_ms_avg",
    "byte_count",
    "byte_rate",
    "replication_latency_ms",
    "replication_latency_ms_max",
    "replication_latency_ms_min",
    "replication_latency_ms_avg",
];

/// One pod's exposition for the partitions `n` with `n % pods == pod` (tasks spread over pods).
fn pod_text(pod: u32, pods: u32) -> String {
    let mut out = String::new();
    for attr in CONSUMER_ATTRS {
        let _ = writeln!(
            out,
            "# HELP kafka_consumer_fetch_manager_{attr} The latest {attr} of the partition"
        );
        let _ = writeln!(out, "# TYPE kafka_consumer_fetch_manager_{attr} gauge");
        for (topic, partition, n) in owned(pod, pods) {
            let value = java_number(n as f64 * 13.7 + 0.5);
            let _ = writeln!(
                out,
                "kafka_consumer_fetch_manager_{attr}{{clientid={CLIENT},partition=\"{partition}\",topic=\"topic-{topic}\",}} {value}"
            );
        }
    }
    for attr in MIRROR_ATTRS {
        let _ = writeln!(
            out,
            "# HELP kafka_connect_mirror_mirrorsourceconnector_{attr} Kafka Mirror Maker 2 Source Connector metrics"
        );
        let _ = writeln!(
            out,
            "# TYPE kafka_connect_mirror_mirrorsourceconnector_{attr} gauge"
        );
        for (topic, partition, n) in owned(pod, pods) {
            let value = if n % 17 == 0 {
                "NaN".to_owned()
            } else {
                java_number(n as f64 * 1234.5)
            };
            let _ = writeln!(
                out,
                "kafka_connect_mirror_mirrorsourceconnector_{attr}{{partition=\"{partition}\",source=\"proxmox\",target=\"aws\",topic=\"proxmox.topic-{topic}\",}} {value}"
            );
        }
    }
    out
}

fn owned(pod: u32, pods: u32) -> impl Iterator<Item = (u32, u32, u32)> {
    (0..PARTITIONS)
        .filter(move |n| n % pods == pod)
        .map(|n| (n % TOPICS, n / TOPICS, n))
}

/// Java's Double.toString style: `1.2345678E7` for large values, `123.5` otherwise.
fn java_number(v: f64) -> String {
    if v >= 1e7 {
        format!("{v:E}")
    } else {
        format!("{v:?}")
    }
}

fn scrapes() -> Vec<PodScrape> {
    let pods = 2;
    (0..pods)
        .map(|pod| PodScrape {
            pod: format!("mm2-proxmox-to-aws-mirrormaker2-{pod}"),
            direction: Direction::new("proxmox", "aws"),
            result: Ok(pod_text(pod, pods)),
        })
        .collect()
}

fn texts(scrapes: &[PodScrape]) -> Vec<&str> {
    scrapes.iter().filter_map(|s| s.result.as_deref().ok()).collect()
}

fn prometheus_parse(text: &str) -> prometheus_parse::Scrape {
    let lines = text.lines().map(|l| Ok(l.to_owned()));
    prometheus_parse::Scrape::parse(lines).unwrap_or_else(|e| panic!("prometheus-parse failed: {e}"))
}

fn report_memory(scrapes: &[PodScrape]) {
    let input: usize = texts(scrapes).iter().map(|t| t.len()).sum();
    let lines: usize = texts(scrapes).iter().map(|t| t.lines().count()).sum();
    let (lags, agg_peak) = peak_during(|| lag::aggregate(scrapes));
    let (parsed, parse_peak) =
        peak_during(|| texts(scrapes).iter().map(|t| lag::parse(t)).collect::<Vec<_>>());
    let samples: usize = parsed.iter().map(|s| s.samples.len()).sum();
    drop(parsed);
    let (theirs, theirs_peak) = peak_during(|| {
        texts(scrapes)
            .iter()
            .map(|t| prometheus_parse(t))
            .collect::<Vec<_>>()
    });
    let their_samples: usize = theirs.iter().map(|s| s.samples.len()).sum();
    drop(theirs);
    let ratio = |peak: usize| peak as f64 / input as f64;
    println!("input: {input} bytes, {lines} lines, {samples} samples (prometheus-parse: {their_samples})");
    println!(
        "partitions aggregated: {} (records-lag total {:?})",
        lags.first().map_or(0, |l| l.partitions.len()),
        lags.first().and_then(|l| l.total_records_lag())
    );
    println!(
        "peak heap, ours parse+aggregate (streaming): {agg_peak} bytes = {:.2}x input",
        ratio(agg_peak)
    );
    println!(
        "peak heap, ours parse() to Scrape:           {parse_peak} bytes = {:.2}x input",
        ratio(parse_peak)
    );
    println!(
        "peak heap, prometheus-parse 0.2.5:            {theirs_peak} bytes = {:.2}x input",
        ratio(theirs_peak)
    );
}

fn bench(c: &mut Criterion) {
    let scrapes = scrapes();
    report_memory(&scrapes);
    let input: usize = texts(&scrapes).iter().map(|t| t.len()).sum();
    let mut group = c.benchmark_group("lag_10k_partitions");
    group.throughput(Throughput::Bytes(input as u64));
    group.sample_size(20);
    group.bench_function("ours_parse_aggregate", |b| {
        b.iter(|| lag::aggregate(black_box(&scrapes)))
    });
    group.bench_function("ours_parse_only", |b| {
        b.iter(|| {
            texts(black_box(&scrapes))
                .iter()
                .map(|t| lag::parse(t).samples.len())
                .sum::<usize>()
        })
    });
    group.bench_function("prometheus_parse_0_2_5_parse_only", |b| {
        b.iter(|| {
            texts(black_box(&scrapes))
                .iter()
                .map(|t| prometheus_parse(t).samples.len())
                .sum::<usize>()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
