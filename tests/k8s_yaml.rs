//! `to_yaml` against Kubernetes' own round-trip fixtures (scripts/k8s-fixtures.sh, not copied into
//! this repository): for every `X.json` with an `X.yaml` beside it, the YAML must be byte-identical.
//! Plus the scalar styles go-yaml v2 picks for tricky strings.

use etcdscope::k8s::yaml::to_yaml;
use serde_json::{json, Value};
use std::path::PathBuf;

#[path = "common/fixtures.rs"]
mod fixtures;

fn fixtures() -> PathBuf {
    fixtures::k8s_fixtures()
}

#[test]
fn every_json_fixture_renders_as_its_yaml_fixture() {
    let mut tally: Vec<(String, usize, usize)> = Vec::new();
    let mut failures = Vec::new();
    for release in ["v1.33.0", "v1.34.0", "v1.35.0", "HEAD"] {
        let dir = fixtures().join(release);
        let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        names.sort();
        let (mut checked, mut passed) = (0, 0);
        for json_path in names {
            let yaml_path = json_path.with_extension("yaml");
            if !yaml_path.is_file() {
                continue;
            }
            let value: Value = serde_json::from_slice(&std::fs::read(&json_path).unwrap()).unwrap_or_else(|e| panic!("{}: {e}", json_path.display()));
            let expected = std::fs::read_to_string(&yaml_path).unwrap();
            let got = to_yaml(&value);
            checked += 1;
            if got == expected {
                passed += 1;
            } else {
                let line = got.lines().zip(expected.lines()).position(|(a, b)| a != b).unwrap_or(0);
                failures.push(format!(
                    "{release}/{}: first difference at line {}\n  got:      {:?}\n  expected: {:?}",
                    yaml_path.file_name().unwrap().to_string_lossy(),
                    line + 1,
                    got.lines().nth(line),
                    expected.lines().nth(line),
                ));
            }
        }
        assert!(checked > 0, "{}: no .json/.yaml pairs", dir.display());
        tally.push((release.to_string(), checked, passed));
    }
    for (release, checked, passed) in &tally {
        println!("{release}: {passed}/{checked} YAML fixtures identical");
    }
    let total: usize = tally.iter().map(|t| t.1).sum();
    println!("total: {}/{total}", total - failures.len());
    assert!(failures.is_empty(), "{} of {total} fixtures differ:\n{}", failures.len(), failures.join("\n"));
}

/// `key: <scalar>` as go-yaml v2 writes it for the string `s`.
fn value_yaml(s: &str) -> String {
    to_yaml(&json!({ "k": s }))
}

#[test]
fn strings_that_read_back_as_other_types_are_double_quoted() {
    for s in [
        "true",
        "False",
        "TRUE",
        "yes",
        "Yes",
        "no",
        "y",
        "N",
        "on",
        "Off", // bools (YAML 1.1)
        "null",
        "Null",
        "NULL",
        "~", // null
        "1",
        "-1",
        "+1",
        "007",
        "08",
        "0x1F",
        "0o17",
        "0b101",
        "-0b101",
        "1_000",
        "1_",
        "0b+1",
        "123456789012345678901234567890", // ints
        "1.0",
        "1e3",
        "1E+3",
        ".5",
        "-.5",
        "+1.",
        "1.e5",
        ".inf",
        "-.Inf",
        ".NaN", // floats
        "2026-01-01",
        "2026-1-2",
        "2008-01-01T01:01:01Z",
        "2002-01-01T01:01:01.000002Z",
        "2001-12-14t21:59:43.10-05:00",
        "2001-12-14 21:59:43.10", // timestamps
        "1:20",
        "-1:20:30.5",
        "190:20:30", // base 60
    ] {
        assert_eq!(value_yaml(s), format!("k: \"{s}\"\n"), "{s:?}");
    }
    assert_eq!(value_yaml(""), "k: \"\"\n");
}

#[test]
fn strings_that_only_look_special_stay_plain() {
    for s in [
        "nil",
        "None",
        "truex",
        "yess",
        "0x",
        "0xG",
        "1e",
        "1e999",
        "0xFFFFFFFFFFFFFFFFF",
        "1.2.3",
        "1:60",
        "2026-13-01",
        "2023-02-29",
        "2026-01-01T",
        "v1",
        "<<",
        ".",
        "..",
        "-x",
        ":x",
        "?x",
        "a:b",
        "a#b",
        "it's",
        "a\"b",
        "a'b",
        "x-",
        "é",
        "日本語",
        "a  b",
        "k8s.io/name",
        "k:{\"type\":\"Ready\"}",
        "f:metadata",
        "_",
        "-_",
        "+",
        "-",
    ] {
        let expected = if s == "-" { "k: '-'\n".to_string() } else { format!("k: {s}\n") };
        assert_eq!(value_yaml(s), expected, "{s:?}");
    }
}

#[test]
fn indicators_spaces_and_comments_single_quote() {
    for (s, quoted) in [
        ("a: b", "'a: b'"),
        ("a:", "'a:'"),
        ("- x", "'- x'"),
        ("-", "'-'"),
        ("? x", "'? x'"),
        ("?", "'?'"),
        (":", "':'"),
        ("  padded", "'  padded'"),
        ("padded ", "'padded '"),
        ("a #b", "'a #b'"),
        ("#x", "'#x'"),
        ("---", "'---'"),
        ("...", "'...'"),
        ("--- x", "'--- x'"),
        ("'q'", "'''q'''"),
        ("\"q\"", "'\"q\"'"),
        ("@x", "'@x'"),
        ("`x", "'`x'"),
        ("%x", "'%x'"),
        ("!x", "'!x'"),
        ("&x", "'&x'"),
        ("*x", "'*x'"),
        ("|x", "'|x'"),
        (">x", "'>x'"),
        ("[x]", "'[x]'"),
        ("]", "']'"),
        ("{x}", "'{x}'"),
        ("}", "'}'"),
        (",x", "',x'"),
        ("[]", "'[]'"),
        ("{}", "'{}'"),
    ] {
        assert_eq!(value_yaml(s), format!("k: {quoted}\n"), "{s:?}");
    }
}

#[test]
fn non_printable_characters_double_quote_with_escapes() {
    for (s, quoted) in [
        ("a\tb", r#""a\tb""#),
        ("\r", r#""\r""#),
        ("a\u{0}b", r#""a\0b""#),
        ("\u{7}\u{8}\u{b}\u{c}\u{1b}", r#""\a\b\v\f\e""#),
        ("\u{1}", r#""\x01""#),
        ("\u{7f}", r#""\x7F""#),
        ("\u{85}", r#""\N""#),
        ("\u{9f}", r#""\x9F""#),
        ("\u{feff}x", r#""\uFEFFx""#),
        ("\u{fffe}", r#""\uFFFE""#),
        ("😀", r#""\U0001F600""#),
        ("a\\b\t", r#""a\\b\t""#),
        ("say \"hi\"\t", r#""say \"hi\"\t""#),
        ("a \nb", r#""a \nb""#),
        ("x\n ", r#""x\n ""#),
    ] {
        assert_eq!(value_yaml(s), format!("k: {quoted}\n"), "{s:?}");
    }
}

#[test]
fn multi_line_strings_use_literal_blocks() {
    assert_eq!(value_yaml("line1\nline2"), "k: |-\n  line1\n  line2\n");
    assert_eq!(value_yaml("line1\nline2\n"), "k: |\n  line1\n  line2\n");
    assert_eq!(value_yaml("line1\n\n"), "k: |+\n  line1\n\n");
    assert_eq!(value_yaml("\n"), "k: |2+\n\n");
    assert_eq!(value_yaml("a\n\nb"), "k: |-\n  a\n\n  b\n");
    assert_eq!(value_yaml("  indented\nx"), "k: |2-\n    indented\n  x\n");
    assert_eq!(value_yaml("\nx"), "k: |2-\n\n  x\n");
    assert_eq!(value_yaml("a\n b"), "k: |-\n  a\n   b\n");
    assert_eq!(value_yaml("true\n"), "k: |\n  true\n");
    assert_eq!(value_yaml("#!/bin/sh\necho 'hi'\n"), "k: |\n  #!/bin/sh\n  echo 'hi'\n");
    // Nested: content two spaces deeper than the key or the dash.
    assert_eq!(to_yaml(&json!({ "a": { "b": ["x\ny\n", { "c": "p\nq" }] } })), "a:\n  b:\n  - |\n    x\n    y\n  - c: |-\n      p\n      q\n");
    // A literal block ending the document needs no further newline.
    assert_eq!(to_yaml(&json!({ "z": "a\n" })), "z: |\n  a\n");
}

#[test]
fn numbers_bools_null_and_empty_collections() {
    let v = json!({
        "int": 7, "neg": -3, "big": 18446744073709551615u64, "float": 1.5, "whole": 1.0, "million": 1e6,
        "small": 0.00001, "t": true, "f": false, "n": null, "y": "yes", "on": "x", "m": {}, "l": [], "ml": [{}, [], null]
    });
    assert_eq!(
        to_yaml(&v),
        "big: 18446744073709551615\nf: false\nfloat: 1.5\nint: 7\nl: []\nm: {}\nmillion: 1000000\nml:\n- {}\n- []\n- null\n\"n\": null\nneg: -3\n\"on\": x\nsmall: 1e-05\nt: true\nwhole: 1\n\"y\": \"yes\"\n"
    );
    for (text, yaml) in [
        ("1.0", "1"),
        ("-0", "0"),
        ("-0.0", "0"),
        ("1e6", "1000000"),
        ("1234567.5", "1.2345675e+06"),
        ("0.5", "0.5"),
        ("-2.25", "-2.25"),
        ("0.000001", "1e-06"),
        ("1e-7", "1e-07"),
        ("1e19", "10000000000000000000"),
        ("-9223372036854775808", "-9223372036854775808"),
        ("-1e19", "-1e+19"),
        ("1e20", "1e+20"),
        ("1e21", "1e+21"),
        ("1.5e300", "1.5e+300"),
        ("123456789012345678901234567890", "1.2345678901234568e+29"),
    ] {
        let v: Value = serde_json::from_str(text).unwrap();
        assert_eq!(to_yaml(&v), format!("{yaml}\n"), "{text}");
    }
    assert_eq!(to_yaml(&json!({})), "{}\n");
    assert_eq!(to_yaml(&json!([])), "[]\n");
    assert_eq!(to_yaml(&json!(null)), "null\n");
    assert_eq!(to_yaml(&json!("x")), "x\n");
    assert_eq!(to_yaml(&json!("a\nb")), "|-\n  a\n  b\n");
}

#[test]
fn collections_nest_the_go_yaml_way() {
    let v = json!({
        "list": [1, [2, 3], [], { "a": 1, "b": [4] }, { "c": { "d": 5 } }],
        "map": { "x": { "z": [] } },
    });
    assert_eq!(to_yaml(&v), "list:\n- 1\n- - 2\n  - 3\n- []\n- a: 1\n  b:\n  - 4\n- c:\n    d: 5\nmap:\n  x:\n    z: []\n");
    assert_eq!(to_yaml(&json!([[["deep"]]])), "- - - deep\n");
}

#[test]
fn keys_sort_naturally_and_quote_like_values() {
    let v = json!({ "b": 1, "a10": 2, "a2": 3, "A": 4, "a": 5, "_x": 6, "10": 7, "9": 8, "": 9, "true": 10, "a b": 11, "- x": 12 });
    assert_eq!(to_yaml(&v), "\"\": 9\n'- x': 12\n_x: 6\n\"9\": 8\n\"10\": 7\nA: 4\na: 5\na b: 11\na2: 3\na10: 2\nb: 1\n\"true\": 10\n");
}

#[test]
fn long_and_multi_line_keys_are_complex_keys() {
    let long = "k".repeat(129);
    assert_eq!(to_yaml(&json!({ long.clone(): 1 })), format!("? {long}\n: 1\n"));
    let limit = "k".repeat(128);
    assert_eq!(to_yaml(&json!({ limit.clone(): 1 })), format!("{limit}: 1\n"));
    assert_eq!(to_yaml(&json!({ long.clone(): { "a": 1, "b": 2 } })), format!("? {long}\n: a: 1\n  b: 2\n"));
    assert_eq!(to_yaml(&json!({ long.clone(): ["x"] })), format!("? {long}\n: - x\n"));
    assert_eq!(to_yaml(&json!({ "a\nb": 1 })), "? |-\n  a\n  b\n: 1\n");
    assert_eq!(to_yaml(&json!({ "x": { "a\nb": "c" } })), "x:\n  ? |-\n    a\n    b\n  : c\n");
}

#[test]
fn long_strings_fold_after_column_80() {
    let words: Vec<String> = (1..=20).map(|i| format!("word{i:05}")).collect();
    let text = words.join(" ");
    let got = to_yaml(&json!({ "description": text }));
    // "description: " is 13 columns; each word and its space 10 more: the first break comes at
    // the first space past column 80, continuation lines are indented two spaces.
    let expected = format!("description: {}\n  {}\n  {}\n", words[..7].join(" "), words[7..15].join(" "), words[15..].join(" "));
    assert_eq!(got, expected);
    // Runs of spaces never fold, and keys never fold.
    let spaced = ["abcdefghi"; 12].join("  ");
    assert_eq!(to_yaml(&json!({ "k": spaced })), format!("k: {spaced}\n"));
    let key = words[..12].join(" ");
    assert_eq!(key.len(), 119);
    assert_eq!(to_yaml(&json!({ key.clone(): 1 })), format!("{key}: 1\n"));
    // A key over 128 bytes is a complex key, and as such may fold.
    assert_eq!(to_yaml(&json!({ text.clone(): 1 })), format!("? {}\n  {}\n  {}\n: 1\n", words[..8].join(" "), words[8..16].join(" "), words[16..].join(" ")));
    // Inside a sequence of mappings the continuation is indented under the value's key.
    let got = to_yaml(&json!({ "l": [{ "m": text }] }));
    assert!(got.starts_with("l:\n- m: word00001 "), "{got}");
    assert!(got.lines().nth(2).unwrap().starts_with("    word"), "{got}");
    // Single-quoted and double-quoted scalars fold too (the double-quoted escaping a leading space).
    let quoted = format!("- {text}");
    let got = value_yaml(&quoted);
    assert!(got.starts_with("k: '- word00001") && got.contains("\n  word") && got.ends_with("'\n"), "{got}");
    let dq = format!("{text}\t{}", "x ".repeat(40) + "  y");
    let got = value_yaml(&dq);
    assert!(got.starts_with("k: \"word00001") && got.contains("\n  word") && got.ends_with("\"\n"), "{got}");
}

/// Whatever style is chosen, a YAML parser must read back the same value.
#[test]
fn output_reads_back_as_the_input() {
    let mut strings: Vec<String> = [
        "",
        " ",
        "  ",
        "a",
        "a b",
        " a",
        "a ",
        "a\nb",
        "a\n",
        "\n",
        "\n\n",
        " \n",
        "\n ",
        "a\n b",
        "a \nb",
        "a\tb",
        "\t",
        "'",
        "''",
        "\"",
        "\\",
        "#",
        "# x",
        "x #",
        "x # y",
        "a: b",
        "a:",
        ":",
        "- ",
        "-",
        "--",
        "---",
        "...",
        "?",
        "? ",
        "@",
        "`",
        "|",
        ">",
        "%",
        "!",
        "&",
        "*",
        "[",
        "]",
        "{",
        "}",
        ",",
        "a,b",
        "a[b]",
        "é",
        "😀",
        "\u{feff}",
        "\u{2028}",
        "a\u{2028}b",
        "\u{85}",
        "\u{a0}",
        "\r\n",
        "x\r\ny",
        "1",
        "1.5",
        "true",
        "null",
        "~",
        "2026-01-01",
        "0x1F",
        "1e3",
        "1:20",
        "<<",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let words = "lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore";
    for prefix in ["", "- ", "'", "\t", " "] {
        strings.push(format!("{prefix}{words} {words}"));
        strings.push(format!("{prefix}{words}  {words}   {words}"));
        strings.push(format!("{prefix}{words}\n{words} \n{words}"));
    }
    for s in &strings {
        for v in [json!({ "key": s }), json!({ "a": [{ "b": s }] }), json!({ s.clone(): 1 }), json!([s])] {
            let text = to_yaml(&v);
            let back: Value = serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{s:?}: {e}\n{text}"));
            assert_eq!(back, v, "{s:?} was written as\n{text}");
        }
    }
}
