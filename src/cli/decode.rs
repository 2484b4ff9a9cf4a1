//! `etcdscope decode`: one stored value from a file or stdin, or a stream of hex lines in
//! etcd-dump-logs' `--stream-decoder` protocol (`OK|<json>` or `ERROR:<reason>|` per line).

use super::{CliResult, EXIT_BAD_INPUT, EXIT_FINDINGS, EXIT_OK};
use clap::Args;
use etcdscope::k8s::decoder::{Decoded, Decoder};
use std::io::{BufRead, Read, Write};
use std::path::PathBuf;

#[derive(Args)]
pub struct DecodeArgs {
    /// File holding one stored value; `-` or nothing for stdin.
    file: Option<PathBuf>,
    /// Read hex-encoded values, one per line, from stdin and answer each with one line
    /// `OK|<json>` or `ERROR:<reason>|` (etcd-dump-logs --stream-decoder).
    #[arg(long)]
    stream: bool,
    /// Output format: json or yaml (as kubectl prints them).
    #[arg(short = 'o', long, default_value = "json", value_parser = ["json", "yaml"])]
    output: String,
    /// The etcd key the value was read from (authenticates AES-GCM encrypted values).
    #[arg(long)]
    etcd_key: Option<String>,
    #[command(flatten)]
    decoding: super::decoding::DecodingArgs,
}

pub fn run(a: &DecodeArgs, out: &mut impl Write) -> CliResult {
    let decoder = a.decoding.decoder()?;
    if a.stream {
        return stream(&decoder, out);
    }
    let mut value = Vec::new();
    match a.file.as_deref() {
        None => std::io::stdin().read_to_end(&mut value)?,
        Some(p) if p.as_os_str() == "-" => std::io::stdin().read_to_end(&mut value)?,
        Some(p) => {
            etcdscope::source::require_regular_path(p)?;
            value = std::fs::read(p).map_err(|e| etcdscope::Error::Io { path: p.to_path_buf(), source: e })?;
            value.len()
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
            if a.output == "yaml" {
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
        say!(
            "etcdscope: warning: {} field(s) not in the schema (newer data?): {}{}",
            paths.len(),
            shown.join(", "),
            if paths.len() > 10 { ", …" } else { "" }
        );
    }
}

/// One answer line per input line; `|` never appears inside the payload (JSON escapes it).
fn stream(decoder: &Decoder, out: &mut impl Write) -> CliResult {
    for line in std::io::stdin().lock().lines() {
        let line = line?;
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
