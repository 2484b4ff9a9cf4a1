//! Flags shared by every command that decodes Kubernetes values, and the decoder they build.

use super::CliError;
use clap::Args;
use etcdscope::k8s::decoder::{DecodeOptions, Decoder};
use etcdscope::k8s::encryption::EncryptionConfig;
use etcdscope::k8s::schema::Schemas;
use std::path::PathBuf;

#[derive(Args)]
pub struct DecodingArgs {
    /// Show Secret data instead of redacting it.
    #[arg(long)]
    show_secrets: bool,
    /// Render fields the schema does not name under a marked key.
    #[arg(long)]
    show_unknown: bool,
    /// More .proto files (aggregated APIs, OpenShift types).
    #[arg(long)]
    proto_path: Option<PathBuf>,
    /// Kubernetes EncryptionConfiguration (YAML) with the keys values were encrypted with.
    #[arg(long)]
    encryption_config: Option<PathBuf>,
}

/// kube-apiserver's default `--etcd-prefix`.
pub const DEFAULT_ETCD_PREFIX: &str = "/registry";

impl DecodingArgs {
    /// The decoder, Secrets' keys under the default etcd prefix (for commands without
    /// `--etcd-prefix`).
    pub fn decoder(&self) -> Result<Decoder, CliError> {
        self.decoder_for(DEFAULT_ETCD_PREFIX)
    }

    /// The decoder, Secrets' keys under `<etcd_prefix>/secrets/` (the command's `--etcd-prefix`,
    /// the same one its view locates objects with).
    pub fn decoder_for(&self, etcd_prefix: &str) -> Result<Decoder, CliError> {
        let schemas = match &self.proto_path {
            Some(dir) => Schemas::with_proto_path(dir),
            None => Schemas::embedded(),
        }
        .map_err(|e| CliError::Usage(e.to_string()))?;
        let encryption = match &self.encryption_config {
            Some(p) => Some(EncryptionConfig::from_file(p).map_err(|e| CliError::Usage(format!("--encryption-config {}: {e}", p.display())))?),
            None => None,
        };
        let options = DecodeOptions { show_secrets: self.show_secrets, show_unknown: self.show_unknown };
        Ok(Decoder { schemas, options, encryption, etcd_prefix: etcd_prefix.to_string() })
    }

    /// The files `decoder` (built from these flags) was read from: the encryption config and
    /// the `.proto` files. Inputs, which no output may replace.
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    pub fn input_files(&self, decoder: &Decoder) -> Vec<PathBuf> {
        self.encryption_config.iter().cloned().chain(decoder.schemas.proto_files().iter().cloned()).collect()
    }
}

/// Flags of the views that compare versions of objects (`history`, `diff`).
#[derive(Args)]
pub struct CompareArgs {
    /// Keep managedFields (in objects and changes) and resourceVersion (in changes).
    #[arg(long)]
    pub all_fields: bool,
    /// The etcd prefix kube-apiserver was run with (`--etcd-prefix`).
    #[arg(long, default_value = "/registry")]
    pub etcd_prefix: String,
    #[command(flatten)]
    pub decoding: DecodingArgs,
}
