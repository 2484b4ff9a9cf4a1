//! The Parquet pages hold to the code and to DuckDB: docs/format/parquet.md's column tables are
//! `schema::ALL` (names, order, types, nullability), the types it says DuckDB reads are the ones
//! DuckDB reports, and every DuckDB query of docs/commands/export.md, run over the dataset the
//! page makes, prints exactly what the page shows.
//!
//! DuckDB comes from scripts/install-parquet-readers.sh ($ETCDSCOPE_PARQUET_PYTHON, else its
//! cache); without it these tests skip, unless ETCDSCOPE_REQUIRE_ETCD=1 (every real tool
//! required), which makes them fail.

#![cfg(all(feature = "sqlite", feature = "parquet"))]

mod common;

use common::{bin, repo};
use etcdscope::views::export::parquet::schema::{Table, ALL};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

fn format_page() -> String {
    std::fs::read_to_string(repo().join("docs/format/parquet.md")).unwrap()
}

fn guide() -> String {
    std::fs::read_to_string(repo().join("docs/commands/export.md")).unwrap()
}

/// The text of `page` from the heading line `heading` to the next heading of the same level.
fn section<'p>(page: &'p str, heading: &str) -> &'p str {
    let start = page.find(&format!("\n{heading}\n")).unwrap_or_else(|| panic!("no heading {heading:?}")) + heading.len() + 2;
    let level = heading.split(' ').next().unwrap();
    let end = page[start..].find(&format!("\n{level} ")).map_or(page.len(), |i| start + i);
    &page[start..end]
}

/// The cells of a Markdown table's body rows (header and rule skipped).
fn table_rows(text: &str) -> Vec<Vec<String>> {
    text.lines().filter(|l| l.starts_with('|')).skip(2).map(|l| l.trim().trim_matches('|').split('|').map(|c| c.trim().to_string()).collect()).collect()
}

/// The tables of the page's "## Tables": name -> [(column, type, nullable)].
fn documented_tables() -> BTreeMap<String, Vec<(String, String, bool)>> {
    let page = format_page();
    let tables = section(&page, "## Tables");
    let mut out = BTreeMap::new();
    for part in tables.split("\n### ").skip(1) {
        let name = part.lines().next().unwrap().trim().trim_matches('`').to_string();
        let columns = table_rows(part)
            .into_iter()
            .map(|cells| {
                assert!(cells.len() >= 4, "table {name}: row {cells:?}");
                let nullable = match cells[2].as_str() {
                    "yes" => true,
                    "no" => false,
                    other => panic!("table {name}: null is {other:?}, not yes or no"),
                };
                (cells[0].trim_matches('`').to_string(), cells[1].clone(), nullable)
            })
            .collect();
        assert!(out.insert(name.clone(), columns).is_none(), "table {name} documented twice");
    }
    out
}

fn schema_columns(t: &Table) -> Vec<(String, String, bool)> {
    t.columns.iter().map(|c| (c.name.to_string(), c.kind.parquet_name().to_string(), c.nullable)).collect()
}

#[test]
fn the_format_page_documents_every_column_of_the_schema() {
    let documented = documented_tables();
    let names: Vec<&str> = documented.keys().map(String::as_str).collect();
    let mut schema_names: Vec<&str> = ALL.iter().map(|t| t.name).collect();
    schema_names.sort_unstable();
    assert_eq!(names, schema_names, "docs/format/parquet.md documents other tables than schema::ALL");
    for t in ALL {
        assert_eq!(documented[t.name], schema_columns(&t), "table {}: docs/format/parquet.md differs from schema.rs", t.name);
    }
}

/// The page's "## Types" table: our type name -> the DuckDB type it says DuckDB reads.
fn documented_duckdb_types() -> BTreeMap<String, String> {
    let page = format_page();
    table_rows(section(&page, "## Types")).into_iter().map(|cells| (cells[0].clone(), cells[2].clone())).collect()
}

/// How the guide runs a query: DuckDB from Python, session time zone UTC, the setup
/// statements, then the query printed as DuckDB draws a result (an EXPLAIN: its plan).
const RUNNER: &str = r#"import duckdb, sys
con = duckdb.connect()
con.execute("SET TimeZone = 'UTC'")
con.execute(sys.argv[1])
result = con.sql(sys.argv[2])
if sys.argv[2].startswith("EXPLAIN"):
    print(result.fetchall()[0][1])
else:
    result.show(max_width=250, max_rows=200)
"#;

/// Each column of view `t` as DuckDB types it, one `name TYPE` a line.
const DESCRIBE: &str = r#"import duckdb, sys
con = duckdb.connect()
con.execute(sys.argv[1])
for row in con.sql("DESCRIBE t").fetchall():
    print(row[0], row[1])
"#;

fn duckdb(python: &Path, dir: &Path, setup: &str, query: &str) -> String {
    let o = Command::new(python).current_dir(dir).args(["-c", RUNNER, setup, query]).output().unwrap();
    assert!(o.status.success(), "DuckDB failed on {query}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

/// `etcdscope ARGS` run in the repository (so SRC paths read `testdata/…` as the guide shows).
fn etcdscope(args: &[&str]) -> std::process::Output {
    Command::new(bin()).current_dir(repo()).args(args).output().unwrap()
}

#[test]
fn duckdb_reads_the_types_the_format_page_documents() {
    let Some(python) = common::parquet_python_or_skip() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ds");
    let o = etcdscope(&["export", "parquet", "testdata/diff-3.5.1/new.db", "--history", "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let types = documented_duckdb_types();
    for t in ALL {
        let setup =
            format!("CREATE VIEW t AS FROM read_parquet('ds/{}/*/*/*.parquet', hive_partitioning = true, hive_types = {{'cluster_id': 'VARCHAR'}})", t.name);
        let o = Command::new(&python).current_dir(dir.path()).args(["-c", DESCRIBE, &setup]).output().unwrap();
        assert!(o.status.success(), "DuckDB failed on table {}: {}", t.name, String::from_utf8_lossy(&o.stderr));
        let described: Vec<String> = String::from_utf8(o.stdout).unwrap().lines().map(str::to_string).collect();
        let mut want: Vec<String> = t.columns.iter().map(|c| format!("{} {}", c.name, types[c.kind.parquet_name()])).collect();
        want.extend(["cluster_id VARCHAR".to_string(), "snapshot_revision BIGINT".to_string()]);
        assert_eq!(described, want, "table {}: DuckDB reads other types than docs/format/parquet.md says", t.name);
    }
}

/// The guide's DuckDB setup and queries: (name, SQL, the output shown).
fn guide_queries(guide: &str) -> (String, Vec<(String, String, String)>) {
    let block = |from: &str, lang: &str, what: &str| -> (String, usize) {
        let start = from.find(&format!("```{lang}\n")).unwrap_or_else(|| panic!("{what}: no {lang} block")) + lang.len() + 4;
        let end = start + from[start..].find("```").unwrap();
        (from[start..end].to_string(), end + 3)
    };
    let setup_at = guide.find("<!-- duckdb-setup -->").expect("the guide's DuckDB setup");
    let (setup, _) = block(&guide[setup_at..], "sql", "setup");
    let mut queries = Vec::new();
    for part in guide.split("<!-- duckdb: ").skip(1) {
        let name = part.split(" -->").next().unwrap().to_string();
        let (sql, after) = block(part, "sql", &name);
        let (text, _) = block(&part[after..], "text", &name);
        queries.push((name, sql, text));
    }
    (setup, queries)
}

/// The exports the guide runs to make its datasets (`fleet`, `ids`), and their exit codes.
const EXPORTS: [(&str, i32); 4] = [
    (
        "etcdscope export parquet testdata/diff-3.5.1/old.db testdata/diff-3.5.1/new.db testdata/serve-3.5.1/snapshot.db testdata/ui-3.5.1/snapshot.db testdata/timeline-3.5.1/timeline.db --out fleet",
        0,
    ),
    ("etcdscope export parquet testdata/diff-3.5.1/new.db --out fleet --replace", 0),
    ("etcdscope export parquet testdata/etcd-3.5.1/snapshot.db testdata/etcd-3.4.23/snapshot.db --out ids", 2),
    ("etcdscope export parquet testdata/etcd-3.4.23/snapshot.db --out ids --cluster-id 3423", 0),
];

#[test]
fn the_fleet_queries_of_the_guide_print_what_it_shows() {
    let Some(python) = common::parquet_python_or_skip() else { return };
    let guide = guide();
    let dir = tempfile::tempdir().unwrap();
    let (fleet, ids) = (dir.path().join("fleet"), dir.path().join("ids"));
    for (command, code) in EXPORTS {
        assert!(guide.contains(&format!("$ {command}\n")), "docs/commands/export.md no longer runs {command}");
        let args: Vec<&str> = command
            .split(' ')
            .skip(1)
            .map(|a| match a {
                "fleet" => fleet.to_str().unwrap(),
                "ids" => ids.to_str().unwrap(),
                _ => a,
            })
            .collect();
        let o = etcdscope(&args);
        assert_eq!(o.status.code(), Some(code), "{command}: {}", String::from_utf8_lossy(&o.stderr));
    }
    let (setup, queries) = guide_queries(&guide);
    assert!(queries.len() >= 4, "{} queries", queries.len());
    for (name, sql, shown) in &queries {
        let printed = duckdb(&python, dir.path(), &setup, sql);
        assert_eq!(printed.trim_end(), shown.trim_end(), "query {name}: DuckDB's output differs from docs/commands/export.md");
    }
}
