//! Prometheus metrics, kept in atomics and rendered as text at `/metrics`.

use std::fmt::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

/// Upper bounds (seconds) of the ingest latency histogram.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

#[derive(Default)]
pub struct Metrics {
    requests_by_class: [AtomicU64; 5],
    pub alerts_created: AtomicU64,
    pub alerts_deduplicated: AtomicU64,
    pub alert_actions: AtomicU64,
    pub write_batches: AtomicU64,
    pub write_batch_ops: AtomicU64,
    ingest_buckets: [AtomicU64; BUCKETS.len()],
    ingest_count: AtomicU64,
    ingest_sum_micros: AtomicU64,
    /// The last config reload failed (none tried counts as success).
    reload_failed: AtomicBool,
    /// Unix seconds of the last successful config load (the start counts).
    reload_success_secs: AtomicU64,
}

impl Metrics {
    pub fn request(&self, status: u16) {
        let class = (status / 100).clamp(1, 5) as usize - 1;
        self.requests_by_class[class].fetch_add(1, Relaxed);
    }

    pub fn ingest_latency(&self, d: std::time::Duration) {
        let secs = d.as_secs_f64();
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                self.ingest_buckets[i].fetch_add(1, Relaxed);
            }
        }
        self.ingest_count.fetch_add(1, Relaxed);
        self.ingest_sum_micros
            .fetch_add(d.as_micros() as u64, Relaxed);
    }

    /// A config load (the start or a reload) succeeded at `now` (unix ms).
    pub fn config_loaded(&self, now: i64) {
        self.reload_failed.store(false, Relaxed);
        self.reload_success_secs
            .store(now.max(0) as u64 / 1000, Relaxed);
    }

    pub fn config_reload_failed(&self) {
        self.reload_failed.store(true, Relaxed);
    }

    pub fn render(&self) -> String {
        let mut s = String::new();
        let gauges = [
            (
                "klaxon_config_last_reload_successful",
                "Whether the last config reload attempt was successful.",
                u64::from(!self.reload_failed.load(Relaxed)),
            ),
            (
                "klaxon_config_last_reload_success_timestamp_seconds",
                "Timestamp of the last successful config load.",
                self.reload_success_secs.load(Relaxed),
            ),
        ];
        for (name, help, v) in gauges {
            let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
        }
        let _ = writeln!(
            s,
            "# HELP klaxon_http_requests_total HTTP requests answered, by status class."
        );
        let _ = writeln!(s, "# TYPE klaxon_http_requests_total counter");
        for (i, c) in self.requests_by_class.iter().enumerate() {
            let _ = writeln!(
                s,
                "klaxon_http_requests_total{{code=\"{}xx\"}} {}",
                i + 1,
                c.load(Relaxed)
            );
        }
        let counters = [
            (
                "klaxon_alerts_created_total",
                "Alerts created (new alerts).",
                &self.alerts_created,
            ),
            (
                "klaxon_alerts_deduplicated_total",
                "Creates folded into an open alert with the same alias.",
                &self.alerts_deduplicated,
            ),
            (
                "klaxon_alert_actions_total",
                "Alert actions processed (ack, close, notes, …).",
                &self.alert_actions,
            ),
            (
                "klaxon_write_batches_total",
                "Group-commit transactions.",
                &self.write_batches,
            ),
            (
                "klaxon_write_batch_ops_total",
                "Operations committed in group-commit transactions.",
                &self.write_batch_ops,
            ),
        ];
        for (name, help, c) in counters {
            let _ = writeln!(
                s,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                c.load(Relaxed)
            );
        }
        let name = "klaxon_ingest_duration_seconds";
        let _ = writeln!(
            s,
            "# HELP {name} Time from an alert request arriving to its durable commit."
        );
        let _ = writeln!(s, "# TYPE {name} histogram");
        for (i, b) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                s,
                "{name}_bucket{{le=\"{b}\"}} {}",
                self.ingest_buckets[i].load(Relaxed)
            );
        }
        let count = self.ingest_count.load(Relaxed);
        let _ = writeln!(s, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(
            s,
            "{name}_sum {}",
            self.ingest_sum_micros.load(Relaxed) as f64 / 1e6
        );
        let _ = writeln!(s, "{name}_count {count}");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_is_cumulative() {
        let m = Metrics::default();
        m.ingest_latency(std::time::Duration::from_micros(1500));
        m.ingest_latency(std::time::Duration::from_millis(30));
        m.request(202);
        let t = m.render();
        assert!(t.contains("klaxon_ingest_duration_seconds_bucket{le=\"0.001\"} 0"));
        assert!(t.contains("klaxon_ingest_duration_seconds_bucket{le=\"0.0025\"} 1"));
        assert!(t.contains("klaxon_ingest_duration_seconds_bucket{le=\"0.05\"} 2"));
        assert!(t.contains("klaxon_ingest_duration_seconds_count 2"));
        assert!(t.contains("klaxon_http_requests_total{code=\"2xx\"} 1"));
    }
}
