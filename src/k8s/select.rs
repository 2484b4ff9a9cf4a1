//! kubectl's selectors: label selectors (`a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x,y)`,
//! `a`, `!a`, comma-separated, all must hold) and field selectors on `metadata.name` and
//! `metadata.namespace` (`=`, `==`, `!=`).

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

/// A parsed label selector.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
}

impl LabelSelector {
    /// Parses kubectl's `-l` syntax: requirements separated by commas, each `key`, `!key`,
    /// `key=value`, `key==value`, `key!=value`, `key in (a,b)` or `key notin (a,b)`. An error
    /// says at which byte the text stops making sense.
    pub fn parse(text: &str) -> Result<LabelSelector, String> {
        if text.trim().is_empty() {
            return Ok(LabelSelector::default());
        }
        match grammar::selector(text) {
            Ok((rest, requirements)) if rest.trim().is_empty() => Ok(LabelSelector { requirements }),
            Ok((rest, _)) => match rest.trim_start().strip_prefix(',') {
                Some(after) => {
                    Err(grammar::error_at("label selector", text, after, "a requirement: key, !key, key=value, key!=value, key in (…), key notin (…)"))
                }
                None => Err(grammar::error_at("label selector", text, rest, "a comma and another requirement")),
            },
            Err(nom::Err::Failure(e)) => {
                Err(grammar::error_at("label selector", text, e.input, "the set of an in/notin requirement: values separated by commas, then ')'"))
            }
            Err(nom::Err::Error(e)) => {
                Err(grammar::error_at("label selector", text, e.input, "a requirement: key, !key, key=value, key!=value, key in (…), key notin (…)"))
            }
            Err(nom::Err::Incomplete(_)) => Err(format!("invalid label selector {text:?}: it ends too soon")),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    pub fn matches(&self, object: &Value) -> bool {
        let labels = object.pointer("/metadata/labels").and_then(Value::as_object);
        let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
        self.requirements.iter().all(|r| match r {
            Requirement::Equals(k, v) => get(k) == Some(v.as_str()),
            Requirement::NotEquals(k, v) => get(k) != Some(v.as_str()),
            Requirement::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Requirement::NotIn(k, vs) => get(k).map_or(true, |x| !vs.iter().any(|v| v == x)),
            Requirement::Exists(k) => get(k).is_some(),
            Requirement::NotExists(k) => get(k).is_none(),
        })
    }
}

/// The selector grammars, as nom combinators.
mod grammar {
    use super::Requirement;
    use nom::branch::alt;
    use nom::bytes::complete::{tag, take_while, take_while1};
    use nom::character::complete::{char, multispace0, multispace1};
    use nom::combinator::{cut, map, opt};
    use nom::multi::separated_list1;
    use nom::sequence::{delimited, preceded, terminated, tuple};
    use nom::IResult;

    fn ws<'a, O>(inner: impl FnMut(&'a str) -> IResult<&'a str, O>) -> impl FnMut(&'a str) -> IResult<&'a str, O> {
        delimited(multispace0, inner, multispace0)
    }

    /// A label key: an optional DNS prefix and `/`, then a name of letters, digits, `-`, `_`, `.`.
    fn key(i: &str) -> IResult<&str, String> {
        map(take_while1(|c: char| c.is_ascii_alphanumeric() || "-_./".contains(c)), str::to_string)(i)
    }

    /// A label value (may be empty).
    fn value(i: &str) -> IResult<&str, String> {
        map(take_while(|c: char| c.is_ascii_alphanumeric() || "-_.".contains(c)), str::to_string)(i)
    }

    fn set(i: &str) -> IResult<&str, Vec<String>> {
        delimited(ws(char('(')), separated_list1(ws(char(',')), value), ws(char(')')))(i)
    }

    fn requirement(i: &str) -> IResult<&str, Requirement> {
        alt((
            map(preceded(ws(char('!')), key), Requirement::NotExists),
            // Once `in`/`notin` is read, the set must follow: an error there is where it is.
            map(tuple((key, delimited(multispace1, tag("notin"), multispace0), cut(set))), |(k, _, v)| Requirement::NotIn(k, v)),
            map(tuple((key, delimited(multispace1, tag("in"), multispace0), cut(set))), |(k, _, v)| Requirement::In(k, v)),
            map(tuple((key, ws(tag("!=")), value)), |(k, _, v)| Requirement::NotEquals(k, v)),
            map(tuple((key, ws(alt((tag("=="), tag("=")))), value)), |(k, _, v)| Requirement::Equals(k, v)),
            map(key, Requirement::Exists),
        ))(i)
    }

    pub fn selector(i: &str) -> IResult<&str, Vec<Requirement>> {
        terminated(separated_list1(ws(char(',')), ws(requirement)), opt(ws(char(','))))(i)
    }

    /// `(field, value, negated)` of a field selector term.
    fn term(i: &str) -> IResult<&str, (String, String, bool)> {
        map(
            tuple((
                ws(take_while1(|c: char| c.is_ascii_alphanumeric() || c == '.')),
                alt((map(tag("!="), |_| true), map(alt((tag("=="), tag("="))), |_| false))),
                ws(take_while(|c: char| c != ',')),
            )),
            |(f, negated, v): (&str, bool, &str)| (f.to_string(), v.trim().to_string(), negated),
        )(i)
    }

    pub fn field_selector(i: &str) -> IResult<&str, Vec<(String, String, bool)>> {
        terminated(separated_list1(char(','), term), opt(ws(char(','))))(i)
    }

    /// "invalid WHAT at byte N (…): expected EXPECTED".
    pub fn error_at(what: &str, text: &str, rest: &str, expected: &str) -> String {
        let at = text.len().saturating_sub(rest.len());
        let near: String = rest.chars().take(20).collect();
        format!("invalid {what} {text:?} at byte {at} (at {near:?}): expected {expected}")
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector {
    terms: Vec<(String, String, bool)>,
}

impl FieldSelector {
    /// Parses `--field-selector`: `field=value`, `field==value`, `field!=value`, comma-separated,
    /// on `metadata.name` and `metadata.namespace` (what a snapshot can answer without the API
    /// server's per-type field tables).
    pub fn parse(text: &str) -> Result<FieldSelector, String> {
        if text.trim().is_empty() {
            return Ok(FieldSelector::default());
        }
        let terms = match grammar::field_selector(text) {
            Ok((rest, terms)) if rest.trim().is_empty() => terms,
            Ok((rest, _)) => return Err(grammar::error_at("field selector", text, rest, "a comma and another field=value")),
            Err(nom::Err::Error(e) | nom::Err::Failure(e)) => {
                return Err(grammar::error_at("field selector", text, e.input, "field=value, field==value or field!=value"))
            }
            Err(nom::Err::Incomplete(_)) => return Err(format!("invalid field selector {text:?}: it ends too soon")),
        };
        for (field, _, _) in &terms {
            if !matches!(field.as_str(), "metadata.name" | "metadata.namespace") {
                return Err(format!("field selector on {field:?} is not supported (metadata.name, metadata.namespace)"));
            }
        }
        Ok(FieldSelector { terms })
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    pub fn matches(&self, object: &Value) -> bool {
        self.terms.iter().all(|(field, value, negated)| {
            let pointer = if field == "metadata.name" { "/metadata/name" } else { "/metadata/namespace" };
            let actual = object.pointer(pointer).and_then(Value::as_str).unwrap_or("");
            (actual == value) != *negated
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn label_selectors() {
        let o = json!({"metadata": {"name": "web", "namespace": "prod", "labels": {"app": "web", "tier": "front"}}});
        let m = |s: &str| LabelSelector::parse(s).unwrap().matches(&o);
        assert!(m("app=web") && m("app==web") && m("app!=db") && m("tier") && m("!missing"));
        assert!(m("app in (web,db)") && m("tier notin (back)") && m("app=web,tier in (front)"));
        assert!(!m("app=db") && !m("!app") && !m("app notin (web)") && !m("missing in (x)"));
        assert!(LabelSelector::parse("app in web").is_err());
        assert!(m(" app = web , tier in ( front , back ) ") && m("app.kubernetes.io/part-of notin (x)"));
        let e = LabelSelector::parse("app=web,tier in (front").unwrap_err();
        assert!(e.contains("at byte 22"), "{e}");
        let e = LabelSelector::parse("app=web,%").unwrap_err();
        assert!(e.contains("at byte 8"), "{e}");
        assert!(LabelSelector::parse("").unwrap().matches(&o));
    }

    #[test]
    fn field_selectors() {
        let o = json!({"metadata": {"name": "web", "namespace": "prod"}});
        let m = |s: &str| FieldSelector::parse(s).unwrap().matches(&o);
        assert!(m("metadata.name=web") && m("metadata.namespace!=dev") && m("metadata.name==web,metadata.namespace=prod"));
        assert!(!m("metadata.name=db"));
        assert!(FieldSelector::parse("spec.nodeName=x").is_err());
        let e = FieldSelector::parse("metadata.name").unwrap_err();
        assert!(e.contains("at byte"), "{e}");
    }
}
