//! CPU time of a browser's processes and threads, read from `/proc`, for
//! the call bench (docs/BENCHMARKS.md §14).
//!
//! A browser is the process whose command line names its own profile folder
//! plus all its descendants (renderers, GPU, network and utility processes,
//! Firefox's content processes). Per-thread times are what let the bench
//! say *where* a mode's extra CPU goes (the frame-crypto worker's thread,
//! the encoder, the network thread), instead of differences of two noisy
//! totals.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Clock ticks per second of `/proc/<pid>/stat` times.
pub fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .unwrap_or(100.0)
}

/// One reading of a `stat` file: its name, parent pid, user and system ticks.
struct Stat {
    name: String,
    ppid: u32,
    user: u64,
    system: u64,
}

fn read_stat(path: &str) -> Option<Stat> {
    let stat = std::fs::read_to_string(path).ok()?;
    // `pid (name) state ppid … utime (field 14) stime (field 15)`; the name
    // may itself hold spaces and parentheses, so split at the last ')'.
    let (head, rest) = stat.rsplit_once(')')?;
    let name = head.split_once('(')?.1.to_string();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let number = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    Some(Stat {
        name,
        ppid: u32::try_from(number(1)?).ok()?,
        user: number(11)?,
        system: number(12)?,
    })
}

/// The entries of a `/proc` folder whose names are numbers (pids, tids).
fn numbered_entries(folder: &str) -> impl Iterator<Item = u32> {
    std::fs::read_dir(folder)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
}

/// The pids of the browser whose profile folder is `profile`.
fn browser_pids(profile: &Path) -> BTreeSet<u32> {
    let profile = profile.display().to_string();
    let mut parent: BTreeMap<u32, u32> = BTreeMap::new();
    let mut tree: BTreeSet<u32> = BTreeSet::new();
    for pid in numbered_entries("/proc") {
        let Some(stat) = read_stat(&format!("/proc/{pid}/stat")) else {
            continue;
        };
        parent.insert(pid, stat.ppid);
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).contains(&profile) {
            tree.insert(pid);
        }
    }
    loop {
        let more: Vec<u32> = parent
            .iter()
            .filter(|(pid, ppid)| tree.contains(ppid) && !tree.contains(pid))
            .map(|(pid, _)| *pid)
            .collect();
        if more.is_empty() {
            return tree;
        }
        tree.extend(more);
    }
}

/// A thread's name with its numbers replaced by `#`, so that a pool's
/// threads ("MediaPD~oder #1", "#2"; "ThreadPoolForeg") add up to one row.
fn thread_kind(name: &str) -> String {
    let mut kind = String::new();
    for c in name.chars() {
        if c.is_ascii_digit() {
            if !kind.ends_with('#') {
                kind.push('#');
            }
        } else {
            kind.push(c);
        }
    }
    kind
}

/// CPU seconds in user space and in the kernel (a thread woken for every
/// frame shows up in the second).
#[derive(Clone, Copy, Debug, Default)]
pub struct Seconds {
    pub user: f64,
    pub system: f64,
}

impl Seconds {
    pub fn total(self) -> f64 {
        self.user + self.system
    }
}

impl std::ops::AddAssign for Seconds {
    fn add_assign(&mut self, other: Seconds) {
        self.user += other.user;
        self.system += other.system;
    }
}

/// CPU ticks of every thread of one browser at one moment, by (pid, tid),
/// with the thread's kind (`thread_kind`) and its process's name.
#[derive(Clone, Debug, Default)]
pub struct Reading {
    threads: BTreeMap<(u32, u32), (String, u64, u64)>,
    processes: usize,
}

impl Reading {
    /// Reads the threads of the browser whose profile folder is `profile`.
    pub fn of_browser(profile: &Path) -> Reading {
        let pids = browser_pids(profile);
        let mut threads = BTreeMap::new();
        for pid in &pids {
            let process = read_stat(&format!("/proc/{pid}/stat")).map_or(String::new(), |s| s.name);
            for tid in numbered_entries(&format!("/proc/{pid}/task")) {
                if let Some(stat) = read_stat(&format!("/proc/{pid}/task/{tid}/stat")) {
                    let kind = format!("{}: {}", thread_kind(&process), thread_kind(&stat.name));
                    threads.insert((*pid, tid), (kind, stat.user, stat.system));
                }
            }
        }
        Reading {
            threads,
            processes: pids.len(),
        }
    }

    /// Processes in the browser's tree.
    pub fn processes(&self) -> usize {
        self.processes
    }

    /// Whether any thread of the browser was found.
    pub fn is_empty(&self) -> bool {
        self.threads.is_empty()
    }

    /// CPU seconds per thread kind between `before` and this reading
    /// (threads that started in between count whole; threads that ended in
    /// between are lost, which a bench of a running call can afford).
    pub fn seconds_by_kind_since(&self, before: &Reading, hz: f64) -> BTreeMap<String, Seconds> {
        let mut kinds: BTreeMap<String, Seconds> = BTreeMap::new();
        for (key, (kind, user, system)) in &self.threads {
            let (user_before, system_before) =
                before.threads.get(key).map_or((0, 0), |(_, u, s)| (*u, *s));
            let seconds = kinds.entry(kind.clone()).or_default();
            seconds.user += user.saturating_sub(user_before) as f64 / hz;
            seconds.system += system.saturating_sub(system_before) as f64 / hz;
        }
        kinds
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_threads_of_a_pool_are_one_kind() {
        assert_eq!(thread_kind("MediaPD~oder #12"), "MediaPD~oder #");
        assert_eq!(thread_kind("DedicatedWorker"), "DedicatedWorker");
        assert_eq!(thread_kind("VideoEncoder9"), "VideoEncoder#");
    }

    #[test]
    fn this_process_and_its_threads_can_be_read() {
        let me = read_stat("/proc/self/stat").expect("our own stat");
        assert!(!me.name.is_empty());
        assert!(me.ppid > 0);
        let pid = std::process::id();
        assert!(numbered_entries("/proc").any(|p| p == pid));
        assert!(numbered_entries(&format!("/proc/{pid}/task")).any(|t| t == pid));
    }
}
