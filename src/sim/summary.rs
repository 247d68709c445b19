//! The live one-screen summary of a simulation: what the sim counts ([`Stats`]) beside what the
//! server says (`/metrics`: devices by state, alerts open), the sim's CPU and, when its pid is
//! given and it runs on this machine, the server's. On a terminal an `indicatif` display redrawn
//! in place (with a progress bar when the run has a duration); otherwise one `key=value` line
//! per period.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::api::{metric, Api};
use super::stats::Stats;

/// Device states the server reports, in display order.
pub const STATES: [&str; 7] = [
    "up",
    "down",
    "unreachable",
    "flapping",
    "quarantined",
    "maintenance",
    "unknown",
];

/// The window heartbeats per second are averaged over (several heartbeat intervals).
pub const RATE_WINDOW: Duration = Duration::from_secs(10);

/// One reading: the sim's counters at a moment and the server's figures.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    pub elapsed: Duration,
    pub sessions: u64,
    pub beats: u64,
    pub frames: u64,
    pub commands: u64,
    pub acks_ok: u64,
    pub acks_failed: u64,
    pub connects: u64,
    pub lost: u64,
    pub chaos: u64,
    /// Device heartbeats per second over the last [`RATE_WINDOW`].
    pub beats_per_s: f64,
    /// By [`STATES`] order; `None` when the server's metrics could not be read.
    pub devices: Option<[u64; 7]>,
    pub alerts_open: Option<u64>,
    /// Percent of one core since the previous reading.
    pub sim_cpu: Option<f64>,
    pub server_cpu: Option<f64>,
}

impl Snapshot {
    /// The `key=value` line.
    pub fn line(&self) -> String {
        let mut out = format!(
            "sim elapsed_s={} sessions={} heartbeats_per_s={:.0} heartbeats={} frames={} commands={} acks_ok={} acks_failed={} connects={} sessions_lost={} chaos={}",
            self.elapsed.as_secs(),
            self.sessions,
            self.beats_per_s,
            self.beats,
            self.frames,
            self.commands,
            self.acks_ok,
            self.acks_failed,
            self.connects,
            self.lost,
            self.chaos
        );
        if let Some(devices) = self.devices {
            for (state, n) in STATES.iter().zip(devices) {
                out.push_str(&format!(" devices_{state}={n}"));
            }
        }
        if let Some(a) = self.alerts_open {
            out.push_str(&format!(" alerts_open={a}"));
        }
        if let Some(c) = self.sim_cpu {
            out.push_str(&format!(" sim_cpu_pct={c:.0}"));
        }
        if let Some(c) = self.server_cpu {
            out.push_str(&format!(" server_cpu_pct={c:.0}"));
        }
        out
    }

    /// The screen: a few aligned lines.
    pub fn screen(&self) -> String {
        let devices = match self.devices {
            Some(d) => STATES
                .iter()
                .zip(d)
                .filter(|(_, n)| *n > 0)
                .map(|(s, n)| format!("{s} {n}"))
                .collect::<Vec<_>>()
                .join(" · "),
            None => "(server metrics unavailable)".into(),
        };
        let cpu = |c: Option<f64>| c.map_or("-".to_owned(), |c| format!("{c:.0} %"));
        format!(
            "sessions    {}   (connects {}, lost {})\nheartbeats  {:.0}/s   ({} in {} frames)\ndevices     {}\nalerts open {}\ncommands    {} received, {} acked, {} failed\nchaos       {} faults injected\ncpu         sim {} · server {}",
            self.sessions,
            self.connects,
            self.lost,
            self.beats_per_s,
            self.beats,
            self.frames,
            devices,
            self.alerts_open.map_or("-".to_owned(), |a| a.to_string()),
            self.commands,
            self.acks_ok,
            self.acks_failed,
            self.chaos,
            cpu(self.sim_cpu),
            cpu(self.server_cpu),
        )
    }
}

/// CPU time (user + system) of a process so far, from `/proc` (Linux); `None` elsewhere.
pub fn cpu_time(pid: Option<u32>) -> Option<Duration> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/stat"),
        None => "/proc/self/stat".into(),
    };
    let text = std::fs::read_to_string(path).ok()?;
    // Fields after the `(comm)`, which may contain spaces: utime and stime are the 14th and 15th.
    let rest = &text[text.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux this runs on.
    Some(Duration::from_millis(ticks * 10))
}

/// Takes readings and shows them.
pub struct Summary {
    api: Api,
    server_pid: Option<u32>,
    started: Instant,
    last: Option<(Instant, u64, Option<Duration>, Option<Duration>)>,
    /// Readings of the heartbeat counter within the rate window, oldest first.
    window: std::collections::VecDeque<(Instant, u64)>,
    bar: Option<ProgressBar>,
}

impl std::fmt::Debug for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Summary").finish_non_exhaustive()
    }
}

impl Summary {
    /// `duration`: the run's length, for the progress bar. The display is `indicatif`'s only on
    /// a terminal (`live`).
    pub fn new(api: Api, server_pid: Option<u32>, duration: Option<Duration>, live: bool) -> Summary {
        let bar = (live && std::io::stdout().is_terminal()).then(|| {
            let bar = match duration {
                Some(d) => {
                    let bar = ProgressBar::new(d.as_secs().max(1));
                    bar.set_style(
                        ProgressStyle::with_template("{msg}\n{elapsed_precise} [{wide_bar}] {pos}/{len} s")
                            .expect("a valid template")
                            .progress_chars("=> "),
                    );
                    bar
                }
                None => {
                    let bar = ProgressBar::new_spinner();
                    bar.set_style(
                        ProgressStyle::with_template("{msg}\n{spinner} {elapsed_precise}").expect("a valid template"),
                    );
                    bar
                }
            };
            bar.set_draw_target(ProgressDrawTarget::stdout());
            bar
        });
        Summary {
            api,
            server_pid,
            started: Instant::now(),
            last: None,
            window: std::collections::VecDeque::new(),
            bar,
        }
    }

    /// Reads the counters and the server's figures now.
    pub async fn read(&mut self, stats: &Stats) -> Snapshot {
        let now = Instant::now();
        let beats = stats.beats.get();
        let sim = cpu_time(None);
        let server = self.server_pid.and_then(|p| cpu_time(Some(p)));
        let (sim_cpu, server_cpu) = match self.last {
            Some((at, _, sim0, server0)) => {
                let dt = now.duration_since(at).as_secs_f64().max(1e-3);
                let pct = |a: Option<Duration>, b: Option<Duration>| match (a, b) {
                    (Some(a), Some(b)) => Some(a.saturating_sub(b).as_secs_f64() / dt * 100.0),
                    _ => None,
                };
                (pct(sim, sim0), pct(server, server0))
            }
            None => (None, None),
        };
        while self
            .window
            .front()
            .is_some_and(|(at, _)| now.duration_since(*at) > RATE_WINDOW)
        {
            self.window.pop_front();
        }
        let beats_per_s = match self.window.front() {
            Some((at, before)) => (beats - before) as f64 / now.duration_since(*at).as_secs_f64().max(1e-3),
            None => 0.0,
        };
        self.window.push_back((now, beats));
        self.last = Some((now, beats, sim, server));
        let metrics = self.api.metrics().await.ok();
        let devices = metrics
            .as_deref()
            .map(|m| STATES.map(|s| metric(m, &format!("kwanje_devices{{state=\"{s}\"}}")).unwrap_or(0.0) as u64));
        let alerts_open = metrics
            .as_deref()
            .and_then(|m| metric(m, "kwanje_alerts_open"))
            .map(|a| a as u64);
        Snapshot {
            elapsed: now.duration_since(self.started),
            sessions: stats.sessions.get(),
            beats,
            frames: stats.frames.get(),
            commands: stats.commands.get(),
            acks_ok: stats.acks_ok.get(),
            acks_failed: stats.acks_failed.get(),
            connects: stats.connects.get(),
            lost: stats.sessions_lost.get(),
            chaos: stats.faults.get()
                + stats.silences.get()
                + stats.flaps.get()
                + stats.crashes.get()
                + stats.drops.get(),
            beats_per_s,
            devices,
            alerts_open,
            sim_cpu,
            server_cpu,
        }
    }

    /// Shows a reading: redraws the screen, or prints its line.
    pub fn show(&self, snapshot: &Snapshot) {
        match &self.bar {
            Some(bar) => {
                bar.set_message(snapshot.screen());
                bar.set_position(snapshot.elapsed.as_secs());
                bar.tick();
            }
            None => {
                let _ = writeln!(std::io::stdout(), "{}", snapshot.line());
            }
        }
    }

    /// Ends the live display, leaving the last screen, and prints the final line.
    pub fn finish(&self, snapshot: &Snapshot) {
        if let Some(bar) = &self.bar {
            bar.finish_with_message(snapshot.screen());
        }
        let _ = writeln!(std::io::stdout(), "{}", snapshot.line());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_is_key_value_and_the_screen_names_states() {
        let s = Snapshot {
            elapsed: Duration::from_secs(12),
            sessions: 40,
            beats_per_s: 200.4,
            devices: Some([990, 10, 0, 0, 0, 0, 2]),
            alerts_open: Some(10),
            ..Snapshot::default()
        };
        let line = s.line();
        assert!(
            line.starts_with("sim elapsed_s=12 sessions=40 heartbeats_per_s=200 "),
            "{line}"
        );
        assert!(line.contains(" devices_up=990 devices_down=10 ") && line.contains(" alerts_open=10"));
        let screen = s.screen();
        assert!(screen.contains("up 990 · down 10 · unknown 2"), "{screen}");
    }

    #[test]
    fn this_process_has_a_cpu_time() {
        if cfg!(target_os = "linux") {
            assert!(cpu_time(None).is_some());
        }
    }
}
