//! AFL entry point of the `k8s_protobuf` target (see fuzz/src/targets/mod.rs and docs/fuzzing.md).

fn main() {
    afl::fuzz!(|data: &[u8]| {
        etcdscope_fuzz::targets::k8s_protobuf(data);
    });
}
