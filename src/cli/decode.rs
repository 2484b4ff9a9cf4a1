//! `etcdscope decode`: one stored value from a file or stdin, or a stream of hex lines in
//! etcd-dump-logs' `--stream-decoder` protocol (`OK|<json>` or `ERROR:<reason>|` per line).

use super::{CliError, CliResult, EXIT_BAD_INPUT, EXIT_FINDINGS, EXIT_OK};
use clap::{Args, ValueEnum};
use etcdscope::k8s::decoder::{Decoded, Decoder};
use etcdscope::wal::layout::MAX_RECORD_BYTES;
use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};

/// The largest value read. Every value etcd stores reached it in one WAL record, and etcd's WAL
/// reader refuses records of 10 MiB or more (`maxWALEntrySizeLimit`); kube-apiserver's own
/// request bodies are at most 3 MiB by default. No Kubernetes value comes near it.
const MAX_VALUE: usize = MAX_RECORD_BYTES as usize;
/// The longest `--stream` line: the hex of the largest value, plus room for a `\r` and spaces
/// around it. A longer line is answered with an error naming it, and the stream goes on.
const MAX_LINE: usize = 2 * MAX_VALUE + 64;

/// `decode -o`.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Json,
    Yaml,
}

#[derive(Args)]
pub struct DecodeArgs {
    /// File holding one stored value; `-` or nothing for stdin.
    file: Option<PathBuf>,
    /// Read hex-encoded values, one per line, from stdin and answer each with one line
    /// `OK|<json>` or `ERROR:<reason>|` (etcd-dump-logs --stream-decoder).
    #[arg(long)]
    stream: bool,
    /// Output format, as kubectl prints them.
    #[arg(short = 'o', long, value_name = "FORMAT", value_enum, default_value_t = Format::Json)]
    output: Format,
    /// The etcd key the value was read from (authenticates AES-GCM encrypted values).
    #[arg(long)]
    etcd_key: Option<String>,
    /// The etcd prefix kube-apiserver was run with (`--etcd-prefix`): Secrets' keys are under
    /// `<prefix>/secrets/`.
    #[arg(long, default_value = super::decoding::DEFAULT_ETCD_PREFIX)]
    etcd_prefix: String,
    #[command(flatten)]
    decoding: super::decoding::DecodingArgs,
}

pub fn run(a: &DecodeArgs, out: &mut impl Write) -> CliResult {
    let decoder = a.decoding.decoder_for(&a.etcd_prefix)?;
    if a.stream {
        return stream(&decoder, out);
    }
    let value = match a.file.as_deref() {
        None => read_value(std::io::stdin().lock(), Path::new("<stdin>"))?,
        Some(p) if p.as_os_str() == "-" => read_value(std::io::stdin().lock(), Path::new("<stdin>"))?,
        Some(p) => {
            etcdscope::source::require_regular_path(p)?;
            let file = std::fs::File::open(p).map_err(|e| etcdscope::Error::io(p, e))?;
            read_value(file, p)?
        }
    };
    let key = a.etcd_key.as_deref().unwrap_or("").as_bytes();
    let mut decoded = decoder.decode_at(key, &value, None);
    // `etcdctl get KEY --print-value-only` ends the value with a newline of its own: when the
    // value as read does not decode, the value without it is tried.
    if !matches!(decoded, Decoded::Object { .. }) && value.ends_with(b"\n") {
        let trimmed = decoder.decode_at(key, &value[..value.len() - 1], None);
        if matches!(trimmed, Decoded::Object { .. }) {
            decoded = trimmed;
        }
    }
    match decoded {
        Decoded::Object { json, unknown_fields, .. } => {
            warn_unknown(&unknown_fields);
            let json = match json.value() {
                Ok(v) => v,
                Err(e) => {
                    say!("etcdscope: error: {e}");
                    return Ok(EXIT_BAD_INPUT);
                }
            };
            if a.output == Format::Yaml {
                out.write_all(etcdscope::k8s::yaml::to_yaml(&json).as_bytes())?;
            } else {
                super::get::write_json(out, &json)?;
            }
            Ok(EXIT_OK)
        }
        Decoded::Encrypted { provider, version, key_name, reason } => {
            say!("etcdscope: encrypted value (provider {provider} {version}, key {key_name}): {reason}");
            Ok(EXIT_FINDINGS)
        }
        Decoded::Raw { reason } => {
            say!("etcdscope: error: cannot decode: {reason}");
            Ok(EXIT_BAD_INPUT)
        }
    }
}

fn warn_unknown(paths: &[String]) {
    if !paths.is_empty() {
        let shown: Vec<&str> = paths.iter().take(10).map(String::as_str).collect();
        say!("etcdscope: warning: {} field(s) not in the schema (newer data?): {}{}", paths.len(), shown.join(", "), if paths.len() > 10 { ", …" } else { "" });
    }
}

/// Reads one value of at most [`MAX_VALUE`] bytes (and the newline `etcdctl
/// --print-value-only` adds); more is refused without being read.
fn read_value(from: impl Read, name: &Path) -> Result<Vec<u8>, CliError> {
    let mut value = Vec::new();
    from.take(MAX_VALUE as u64 + 2).read_to_end(&mut value).map_err(|e| etcdscope::Error::io(name, e))?;
    if value.len() > MAX_VALUE + 1 {
        return Err(CliError::Usage(format!(
            "{}: larger than {MAX_VALUE} bytes: not one stored Kubernetes value (etcd reads back no WAL record that large)",
            name.display()
        )));
    }
    Ok(value)
}

/// A line of the stream, read with a bound.
enum Line {
    /// The line, without its newline.
    Read,
    /// Longer than the bound: what was read of it is dropped, the rest is still unread.
    TooLong,
    End,
}

/// Reads the next line into `buf` (cleared first), holding at most `max` bytes of it.
fn read_line_bounded(input: &mut impl BufRead, buf: &mut Vec<u8>, max: usize) -> std::io::Result<Line> {
    buf.clear();
    let mut any = false;
    loop {
        let chunk = input.fill_buf()?;
        if chunk.is_empty() {
            return Ok(if any { Line::Read } else { Line::End });
        }
        any = true;
        let (take, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(at) => (at, true),
            None => (chunk.len(), false),
        };
        if buf.len() + take > max {
            buf.clear();
            return Ok(Line::TooLong);
        }
        buf.extend_from_slice(&chunk[..take]);
        input.consume(take + usize::from(done));
        if done {
            return Ok(Line::Read);
        }
    }
}

/// Reads and drops the rest of the current line, in constant memory.
fn skip_line(input: &mut impl BufRead) -> std::io::Result<()> {
    loop {
        let chunk = input.fill_buf()?;
        if chunk.is_empty() {
            return Ok(());
        }
        match chunk.iter().position(|&b| b == b'\n') {
            Some(at) => {
                input.consume(at + 1);
                return Ok(());
            }
            None => {
                let n = chunk.len();
                input.consume(n);
            }
        }
    }
}

/// One answer line per input line; `|` never appears inside the payload (JSON escapes it). A
/// line longer than [`MAX_LINE`] is answered with an error naming it as soon as it passes the
/// bound (etcd-dump-logs then still gets one answer per line), and the rest of it is dropped.
fn stream(decoder: &Decoder, out: &mut impl Write) -> CliResult {
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut buf = Vec::new();
    for number in 1u64.. {
        let line = match read_line_bounded(&mut input, &mut buf, MAX_LINE)? {
            Line::End => break,
            Line::Read => String::from_utf8_lossy(&buf),
            Line::TooLong => {
                writeln!(
                    out,
                    "ERROR:line {number}: longer than {MAX_LINE} bytes (the hex of a value etcd can hold is at most {} bytes); skipped|",
                    2 * MAX_VALUE
                )?;
                out.flush()?;
                skip_line(&mut input)?;
                continue;
            }
        };
        let answer = match hex_decode(line.trim()) {
            Err(e) => format!("ERROR:{e}|"),
            Ok(bytes) => match decoder.decode(&bytes) {
                Decoded::Object { json, .. } => format!("OK|{}", json.as_str().replace('|', "\\u007c")),
                Decoded::Encrypted { provider, key_name, reason, .. } => {
                    format!("ERROR:encrypted with {provider} key {key_name}: {reason}|").replace('\n', " ")
                }
                Decoded::Raw { reason } => format!("ERROR:{}|", reason.replace(['|', '\n'], " ")),
            },
        };
        writeln!(out, "{answer}")?;
        // etcd-dump-logs waits for each answer before sending the next line.
        out.flush()?;
    }
    Ok(EXIT_OK)
}

fn hex_decode(s: &str) -> Result<Vec<u8>, String> {
    if s.len() % 2 != 0 {
        return Err(format!("odd-length hex line ({} characters)", s.len()));
    }
    let nibble = |i: usize, c: u8| (c as char).to_digit(16).map(|d| d as u8).ok_or_else(|| format!("not hex at column {i}"));
    s.as_bytes().chunks(2).enumerate().map(|(i, pair)| Ok(nibble(2 * i, pair[0])? << 4 | nibble(2 * i + 1, pair[1])?)).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn hex_lines() {
        assert_eq!(super::hex_decode("6b3873"), Ok(b"k8s".to_vec()));
        assert!(super::hex_decode("6").is_err());
        assert!(super::hex_decode("zz").is_err());
        assert!(super::hex_decode("é1").is_err(), "non-ASCII input is an error, not a panic");
    }
}
