//! The process's own figures for `/metrics`, under the names Prometheus client libraries use
//! (`process_cpu_seconds_total`, `process_resident_memory_bytes`, `process_open_fds`,
//! `process_threads`, `process_start_time_seconds`), so stock dashboards read them. Read from
//! `/proc/self` at scrape time (Linux); the parsing is pure.

/// Linux's `USER_HZ`, the unit of `/proc` CPU times: 100 on every architecture Linux exposes
/// to user space (the kernel scales its own tick to it).
const USER_HZ: f64 = 100.0;

/// What one scrape reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProcessFigures {
    pub cpu_seconds: f64,
    pub resident_bytes: u64,
    pub threads: u64,
    pub start_time_seconds: f64,
}

/// From `/proc/self/stat`, `/proc/self/status` and `/proc/stat`'s texts; `None` when one does
/// not read as expected.
pub fn parse(stat: &str, status: &str, system_stat: &str) -> Option<ProcessFigures> {
    // The command name (field 2) may hold spaces and parentheses: the fields after it start
    // after the last ')'.
    let after = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // `after` starts at field 3 (state): field n is fields[n - 3].
    let field = |n: usize| -> Option<f64> { fields.get(n - 3)?.parse().ok() };
    let cpu_seconds = (field(14)? + field(15)?) / USER_HZ;
    let start_ticks = field(22)?;
    let kib = |key: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(key))?;
        line.split_whitespace().nth(1)?.parse().ok()
    };
    let boot: f64 = system_stat
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    Some(ProcessFigures {
        cpu_seconds,
        resident_bytes: kib("VmRSS:")? * 1024,
        threads: kib("Threads:")?,
        start_time_seconds: boot + start_ticks / USER_HZ,
    })
}

/// This process's figures and its open file descriptors, or `None` off Linux.
pub fn read() -> Option<(ProcessFigures, u64)> {
    let text = |p: &str| std::fs::read_to_string(p).ok();
    let figures = parse(
        &text("/proc/self/stat")?,
        &text("/proc/self/status")?,
        &text("/proc/stat")?,
    )?;
    let fds = std::fs::read_dir("/proc/self/fd").ok()?.count() as u64;
    Some((figures, fds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_read_past_a_command_name_with_spaces_and_parentheses() {
        let stat = "4242 (kwanje (x) y) S 1 4242 4242 0 -1 4194304 500 0 0 0 250 50 0 0 20 0 7 0 12000 \
                    3133440 359 18446744073709551615 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0";
        let status = "Name:\tkwanje\nVmRSS:\t    2180 kB\nThreads:\t7\n";
        let system = "cpu  1 2 3\nbtime 1796600000\nprocesses 5\n";
        let f = parse(stat, status, system).unwrap();
        assert_eq!(f.cpu_seconds, 3.0);
        assert_eq!(f.resident_bytes, 2180 * 1024);
        assert_eq!(f.threads, 7);
        assert_eq!(f.start_time_seconds, 1_796_600_120.0);
        assert_eq!(parse("garbage", status, system), None);
        assert_eq!(parse(stat, "Name:\tx\n", system), None);
    }

    #[test]
    fn this_process_reads_on_linux() {
        let (f, fds) = read().expect("/proc on Linux");
        assert!(f.resident_bytes > 0 && f.threads >= 1 && fds >= 3, "{f:?} fds={fds}");
    }
}
