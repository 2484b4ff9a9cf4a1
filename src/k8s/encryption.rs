//! Encryption at rest (placeholder; being written).
