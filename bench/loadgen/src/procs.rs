//! CPU time and peak memory of the processes under test, read from `/proc`.

#[derive(Debug, Clone)]
pub struct ProcSample {
    pub pid: u32,
    pub label: String,
    pub ticks: u64,
    pub hwm_kb: u64,
    pub children: usize,
}

fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    Some(after.split_whitespace().map(str::to_string).collect())
}

/// utime + stime (clock ticks) and parent pid, from /proc/<pid>/stat.
fn ticks_and_parent(pid: u32) -> Option<(u64, u32)> {
    let f = stat_fields(pid)?;
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    Some((utime + stime, f.get(1)?.parse().ok()?))
}

/// Memory fields of `/proc/<pid>/status` in KiB, in the order asked (`"VmRSS"`, `"VmHWM"`, ...); 0 for a
/// field or process that is not there.
pub fn status_kib<const N: usize>(pid: u32, fields: [&str; N]) -> [u64; N] {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    fields.map(|field| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    })
}

fn hwm_kb(pid: u32) -> u64 {
    let [hwm] = status_kib(pid, ["VmHWM"]);
    hwm
}

/// The process and its direct children (nginx's workers), summed; peak RSS is the largest of them.
pub fn sample_process(pid: u32) -> Option<ProcSample> {
    let (mut ticks, _) = ticks_and_parent(pid)?;
    let mut hwm = hwm_kb(pid);
    let mut children = 0;
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for entry in dir.flatten() {
            let Some(child) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
                continue;
            };
            if let Some((t, parent)) = ticks_and_parent(child) {
                if parent == pid {
                    ticks += t;
                    hwm = hwm.max(hwm_kb(child));
                    children += 1;
                }
            }
        }
    }
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let words: Vec<String> = cmdline
        .split(|b| *b == 0)
        .filter(|w| !w.is_empty())
        .map(|w| String::from_utf8_lossy(w).into_owned())
        .collect();
    let first = words.first().map(String::as_str).unwrap_or_default();
    // A process that rewrote its title (nginx: "nginx: master process /usr/sbin/nginx -c ...") keeps it.
    let label = if first.contains(' ') {
        first.split(" /").next().unwrap_or(first).to_string()
    } else {
        let name = first.rsplit('/').next().unwrap_or(first);
        words
            .get(1)
            .map(|arg| format!("{name} {arg}"))
            .unwrap_or_else(|| name.to_string())
    };
    Some(ProcSample {
        pid,
        label: label.trim().to_string(),
        ticks,
        hwm_kb: hwm,
        children,
    })
}

pub fn read_pids(file: &Option<String>) -> Vec<u32> {
    file.as_ref()
        .and_then(|f| std::fs::read_to_string(f).ok())
        .map(|s| s.lines().filter_map(|l| l.trim().parse().ok()).collect())
        .unwrap_or_default()
}

pub fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}
