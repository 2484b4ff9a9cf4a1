//! The values of every command's `-o`, typed: clap lists them in help, completions and man
//! pages, and refuses any other by naming them all (with the nearest as a tip). Commands whose
//! formats are their own (kv get's etcdctl formats, history's, query's) declare them beside
//! their printers; the shared shapes are here.

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use std::ffi::OsStr;

/// `-o` of the commands that print a table for a person or one JSON document for programs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum TableOrJson {
    /// Aligned columns for a person.
    Table,
    /// One JSON document.
    Json,
}

/// `get -o`: kubectl's output formats (and JSON Lines). The two that carry a value after `=`
/// keep it as given; it is checked where it is used, with the messages it always had.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GetOutput {
    Table,
    Wide,
    Json,
    Yaml,
    Name,
    Jsonl,
    /// `jsonpath=TEMPLATE`
    JsonPath(String),
    /// `custom-columns=HEADER:.path,…`
    CustomColumns(String),
}

/// The plain values of `get -o`, in the order help lists them, and what each prints.
const GET_PLAIN: &[(&str, GetOutput, &str)] = &[
    ("table", GetOutput::Table, "kubectl's table per type"),
    ("wide", GetOutput::Wide, "the table with kubectl's -o wide columns"),
    ("json", GetOutput::Json, "the object, or a kind: List"),
    ("yaml", GetOutput::Yaml, "the object, or a kind: List"),
    ("name", GetOutput::Name, "TYPE/NAME per object"),
    ("jsonl", GetOutput::Jsonl, "one object per line, printed as it is read"),
];
const JSONPATH: &str = "jsonpath=";
const CUSTOM_COLUMNS: &str = "custom-columns=";

impl GetOutput {
    /// The value as it was given (`custom-columns=NAME:.metadata.name`), for messages.
    pub fn given(&self) -> String {
        match self {
            GetOutput::JsonPath(t) => format!("{JSONPATH}{t}"),
            GetOutput::CustomColumns(s) => format!("{CUSTOM_COLUMNS}{s}"),
            plain => GET_PLAIN.iter().find(|(_, o, _)| o == plain).map(|(n, _, _)| n.to_string()).unwrap_or_default(),
        }
    }

    /// A table for a person (`table` or `wide`), which kubectl decorates with label columns.
    pub fn is_table(&self) -> bool {
        matches!(self, GetOutput::Table | GetOutput::Wide)
    }
}

/// Parses `get -o`: a plain value by name, or `jsonpath=…` / `custom-columns=…` by prefix. Help
/// lists the latter two as `jsonpath=EXPR` and `custom-columns=SPEC`.
#[derive(Clone, Copy)]
pub struct GetOutputParser;

impl GetOutputParser {
    fn values() -> impl Iterator<Item = PossibleValue> {
        GET_PLAIN.iter().map(|(name, _, help)| PossibleValue::new(*name).help(*help)).chain([
            PossibleValue::new("jsonpath=EXPR").help("kubectl's jsonpath template, e.g. jsonpath={.items[*].metadata.name}"),
            PossibleValue::new("custom-columns=SPEC").help("HEADER:.path,… one table over every type, e.g. custom-columns=NAME:.metadata.name"),
        ])
    }
}

impl TypedValueParser for GetOutputParser {
    type Value = GetOutput;

    fn parse_ref(&self, cmd: &clap::Command, arg: Option<&clap::Arg>, value: &OsStr) -> Result<GetOutput, clap::Error> {
        if let Some(text) = value.to_str() {
            if let Some(template) = text.strip_prefix(JSONPATH) {
                return Ok(GetOutput::JsonPath(template.to_string()));
            }
            if let Some(spec) = text.strip_prefix(CUSTOM_COLUMNS) {
                return Ok(GetOutput::CustomColumns(spec.to_string()));
            }
        }
        // Anything else is one of the plain names, or refused by clap naming every value.
        let name = PossibleValuesParser::new(Self::values()).parse_ref(cmd, arg, value)?;
        let plain = GET_PLAIN.iter().find(|(n, _, _)| *n == name).map(|(_, o, _)| o.clone());
        plain.ok_or_else(|| clap::Error::raw(clap::error::ErrorKind::InvalidValue, format!("-o {name}: give jsonpath=TEMPLATE or custom-columns=SPEC\n")))
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(Self::values()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<GetOutput, clap::Error> {
        GetOutputParser.parse_ref(&clap::Command::new("get"), None, OsStr::new(text))
    }

    #[test]
    fn get_output_parses_every_spelling_and_gives_it_back() {
        for (name, output, _) in GET_PLAIN {
            assert_eq!(parse(name).unwrap(), *output);
            assert_eq!(output.given(), *name);
        }
        assert_eq!(parse("jsonpath={.a}").unwrap(), GetOutput::JsonPath("{.a}".into()));
        assert_eq!(parse("custom-columns=A:.b").unwrap().given(), "custom-columns=A:.b");
        assert_eq!(parse("custom-columns=").unwrap(), GetOutput::CustomColumns(String::new()));
        // The placeholders help shows are no values of their own.
        assert!(parse("jsonpath").is_err());
        assert!(parse("yml").is_err());
    }
}
