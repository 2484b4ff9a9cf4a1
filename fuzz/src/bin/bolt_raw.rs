//! AFL entry point of the `bolt_raw` target (see fuzz/src/targets/mod.rs and docs/fuzzing.md).

fn main() {
    afl::fuzz!(|data: &[u8]| {
        etcdscope_fuzz::targets::bolt_raw(data);
    });
}
