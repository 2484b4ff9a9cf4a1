//! The floor under `status`: read every byte of a file once and CRC-32C it, on every core, and
//! nothing else. `status` must at least do this (etcdutl's hash covers every key and value), so
//! scripts/bench/status_floor.py reports `status` against it and against `etcdutl snapshot status`.
//!
//!     cargo run --release --example read_floor -- FILE [mmap|pread] [THREADS]
//!
//! `mmap` maps the file read-only as etcdscope does (page faults, and the unmapping at exit, are
//! part of the cost); `pread` copies it through a 1 MiB buffer per thread, the cheapest way the
//! kernel offers here. Prints the CRC of each thread's share so the work cannot be optimised out.

use std::os::unix::fs::FileExt;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: read_floor FILE [mmap|pread] [THREADS]")?;
    let how = args.next().unwrap_or_else(|| "mmap".into());
    let threads: usize = args.next().map(|t| t.parse()).transpose()?.unwrap_or(2).max(1);
    let file = std::fs::File::open(&path)?;
    let len = usize::try_from(file.metadata()?.len())?;
    let share = len.div_ceil(threads).next_multiple_of(4096).max(4096);
    let crcs: Vec<u32> = match how.as_str() {
        "mmap" => {
            // SAFETY: a benchmark over a file nobody writes while it runs.
            let map = unsafe { memmap2::Mmap::map(&file)? };
            std::thread::scope(|s| {
                let parts: Vec<_> = map.chunks(share).map(|part| s.spawn(move || crc32c::crc32c(part))).collect();
                parts.into_iter().map(|p| p.join().unwrap_or_default()).collect()
            })
        }
        "pread" => std::thread::scope(|s| {
            let parts: Vec<_> = (0..len.div_ceil(share))
                .map(|i| {
                    let file = &file;
                    s.spawn(move || {
                        let mut buf = vec![0u8; 1 << 20];
                        let (mut at, end) = (i * share, ((i + 1) * share).min(len));
                        let mut crc = 0;
                        while at < end {
                            let n = (end - at).min(buf.len());
                            if file.read_exact_at(&mut buf[..n], at as u64).is_err() {
                                break;
                            }
                            crc = crc32c::crc32c_append(crc, &buf[..n]);
                            at += n;
                        }
                        crc
                    })
                })
                .collect();
            parts.into_iter().map(|p| p.join().unwrap_or_default()).collect()
        }),
        other => return Err(format!("unknown method {other:?}: mmap or pread").into()),
    };
    println!("{crcs:08x?}");
    Ok(())
}
