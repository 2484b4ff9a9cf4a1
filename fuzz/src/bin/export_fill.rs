//! AFL entry point of the `export_fill` target (see fuzz/src/targets/sql.rs and docs/fuzzing.md).

fn main() {
    afl::fuzz!(|data: &[u8]| {
        etcdscope_fuzz::targets::sql::export_fill(data);
    });
}
