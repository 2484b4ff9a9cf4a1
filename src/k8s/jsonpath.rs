//! A subset of kubectl's jsonpath templates: literal text with `{…}` expressions made of
//! `.field`, `['field']`, `[n]`, `[*]` and filter (`[?(@.type=="Ready")]`, `[?(@.port>80)]`,
//! `[?(@.ready)]`) steps, `{"\n"}`-style literals; several results of one expression are joined
//! with spaces, as kubectl does. CRDs' additionalPrinterColumns use the same expressions, and
//! the command line's `-o jsonpath`, `--sort-by` and `-o custom-columns`.

use serde_json::Value;

pub fn render(template: &str, root: &Value) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').ok_or_else(|| format!("unclosed expression in jsonpath template {template:?}"))? + open;
        let expr = rest[open + 1..close].trim();
        if let Some(lit) = expr.strip_prefix('"').and_then(|e| e.strip_suffix('"')) {
            out.push_str(&lit.replace("\\n", "\n").replace("\\t", "\t"));
        } else {
            let values = eval(expr, root)?;
            let text: Vec<String> = values
                .iter()
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect();
            out.push_str(&text.join(" "));
        }
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn eval<'a>(expr: &str, root: &'a Value) -> Result<Vec<&'a Value>, String> {
    Ok(apply(&parse(expr)?, root))
}

/// Deepest bracket nesting an expression may have.
const MAX_NESTING: usize = 16;

/// One step of a path.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    /// `.name` or `['name']`.
    Field(String),
    /// `[n]`, negative from the end.
    Index(i64),
    /// `[*]`: every element or member.
    Wildcard,
    /// `[?(@.path)]` or `[?(@.path OP literal)]`: the elements for which it holds.
    Filter(Vec<Step>, Option<(&'static str, Value)>),
}

/// The path grammar, as nom combinators. `in_filter` paths stop at operators and `)`.
mod grammar {
    use super::Step;
    use nom::branch::alt;
    use nom::bytes::complete::{tag, take_while};
    use nom::character::complete::{char, i64 as integer, multispace0};
    use nom::combinator::{cut, map, opt, value};
    use nom::multi::many0;
    use nom::number::complete::double;
    use nom::sequence::{delimited, pair, preceded, terminated};
    use nom::IResult;
    use serde_json::Value;

    fn quoted(i: &str) -> IResult<&str, String> {
        alt((
            delimited(char('\''), map(take_while(|c| c != '\''), str::to_string), char('\'')),
            delimited(char('"'), map(take_while(|c| c != '"'), str::to_string), char('"')),
        ))(i)
    }

    fn literal(i: &str) -> IResult<&str, Value> {
        alt((
            map(quoted, Value::String),
            value(Value::Bool(true), tag("true")),
            value(Value::Bool(false), tag("false")),
            map(double, |f| serde_json::Number::from_f64(f).map(Value::Number).unwrap_or(Value::Null)),
        ))(i)
    }

    fn op(i: &str) -> IResult<&str, &'static str> {
        alt((value("==", tag("==")), value("!=", tag("!=")), value("<=", tag("<=")), value(">=", tag(">=")), value("<", tag("<")), value(">", tag(">"))))(i)
    }

    fn filter(i: &str) -> IResult<&str, Step> {
        let (i, _) = pair(tag("?("), multispace0)(i)?;
        let (i, _) = cut(char('@'))(i)?;
        let (i, path) = path(true)(i)?;
        let (i, test) = opt(pair(delimited(multispace0, op, multispace0), cut(literal)))(i)?;
        let (i, _) = cut(preceded(multispace0, char(')')))(i)?;
        Ok((i, Step::Filter(path, test)))
    }

    fn bracket(i: &str) -> IResult<&str, Step> {
        delimited(
            pair(char('['), multispace0),
            cut(alt((value(Step::Wildcard, char('*')), map(quoted, Step::Field), map(integer, Step::Index), filter))),
            pair(multispace0, cut(char(']'))),
        )(i)
    }

    fn dot(in_filter: bool) -> impl FnMut(&str) -> IResult<&str, Option<Step>> {
        move |i| {
            preceded(
                char('.'),
                map(take_while(move |c: char| c != '.' && c != '[' && !(in_filter && (c.is_whitespace() || "=!<>)".contains(c)))), |name: &str| {
                    (!name.is_empty()).then(|| Step::Field(name.to_string()))
                }),
            )(i)
        }
    }

    pub fn path(in_filter: bool) -> impl FnMut(&str) -> IResult<&str, Vec<Step>> {
        move |i| map(many0(alt((dot(in_filter), map(bracket, Some)))), |steps| steps.into_iter().flatten().collect())(i)
    }

    pub fn expression(i: &str) -> IResult<&str, Vec<Step>> {
        terminated(preceded(opt(char('$')), path(false)), multispace0)(i)
    }
}

/// Parses a path expression (`.a.b[0]`, `$.items[*].metadata.name`, filters), saying at which
/// byte it stops making sense.
fn parse(expr: &str) -> Result<Vec<Step>, String> {
    // The grammar recurses at every `[` inside a filter: bound the nesting first (quotes aside),
    // so a hostile expression (a CRD's printer column, say) cannot exhaust the stack.
    let (mut depth, mut deepest, mut quote) = (0usize, 0usize, None);
    for c in expr.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '[') => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            (None, ']') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    if deepest > MAX_NESTING {
        return Err(format!("jsonpath expression nests brackets {deepest} deep; at most {MAX_NESTING} are read"));
    }
    let supported = "supported: .field, ['field'], [n], [*], [?(@.f==\"v\")]";
    match grammar::expression(expr) {
        Ok(("", steps)) => Ok(steps),
        Ok((rest, _)) => Err(format!("unsupported jsonpath expression {expr:?} at byte {} ({supported})", expr.len() - rest.len())),
        Err(nom::Err::Error(e) | nom::Err::Failure(e)) => {
            Err(format!("unsupported jsonpath expression {expr:?} at byte {} ({supported})", expr.len() - e.input.len()))
        }
        Err(nom::Err::Incomplete(_)) => Err(format!("unsupported jsonpath expression {expr:?}: it ends too soon")),
    }
}

fn elements(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(a) => a.iter().collect(),
        Value::Object(m) => m.values().collect(),
        _ => Vec::new(),
    }
}

fn apply<'a>(steps: &[Step], root: &'a Value) -> Vec<&'a Value> {
    let mut current = vec![root];
    for step in steps {
        current = match step {
            Step::Field(name) => current.into_iter().filter_map(|v| v.get(name.as_str())).collect(),
            Step::Index(i) => current
                .into_iter()
                .filter_map(|v| {
                    let a = v.as_array()?;
                    let idx = if *i < 0 { a.len() as i64 + i } else { *i };
                    a.get(usize::try_from(idx).ok()?)
                })
                .collect(),
            Step::Wildcard => current.into_iter().flat_map(elements).collect(),
            Step::Filter(path, test) => current
                .into_iter()
                .flat_map(|v| match v {
                    Value::Array(a) => a.iter().collect::<Vec<_>>(),
                    other => vec![other],
                })
                .filter(|v| holds(path, test.as_ref(), v))
                .collect(),
        };
    }
    current
}

/// Whether a filter holds for `v`: its path selects something truthy, or compares as asked.
fn holds(path: &[Step], test: Option<&(&'static str, Value)>, v: &Value) -> bool {
    let found = apply(path, v);
    let Some(&actual) = found.first() else { return false };
    let Some((op, lit)) = test else { return !matches!(actual, Value::Null | Value::Bool(false)) };
    let order = match (actual, lit) {
        (Value::Number(a), Value::Number(b)) => a.as_f64().zip(b.as_f64()).and_then(|(a, b)| a.partial_cmp(&b)),
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        (a, b) if a == b => Some(std::cmp::Ordering::Equal),
        _ => None,
    };
    use std::cmp::Ordering::*;
    match (*op, order) {
        ("==", o) => o == Some(Equal),
        ("!=", o) => o != Some(Equal),
        ("<", Some(o)) => o == Less,
        ("<=", Some(o)) => o != Greater,
        (">", Some(o)) => o == Greater,
        (">=", Some(o)) => o != Less,
        _ => false,
    }
}

/// Every value the expression selects.
pub fn eval_all<'a>(expr: &str, root: &'a Value) -> Result<Vec<&'a Value>, String> {
    eval(expr, root)
}

/// The first value the expression selects (what a CRD printer column shows).
pub fn first<'a>(expr: &str, root: &'a Value) -> Result<Option<&'a Value>, String> {
    Ok(eval(expr, root)?.into_iter().next())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates() {
        let v = serde_json::json!({"items": [{"metadata": {"name": "a", "labels": {"app.kubernetes.io/name": "x"}}}, {"metadata": {"name": "b"}}]});
        assert_eq!(render("{.items[*].metadata.name}", &v).unwrap(), "a b");
        assert_eq!(render("first={.items[0].metadata.name}{\"\\n\"}", &v).unwrap(), "first=a\n");
        assert_eq!(render("{.items[-1].metadata.name}", &v).unwrap(), "b");
        assert_eq!(render("{.items[0].metadata.labels['app.kubernetes.io/name']}", &v).unwrap(), "x");
        let c = serde_json::json!({"status": {"conditions": [{"type": "Synced", "status": "False"}, {"type": "Ready", "status": "True", "n": 3}]}});
        assert_eq!(render(r#"{.status.conditions[?(@.type=="Ready")].status}"#, &c).unwrap(), "True");
        assert_eq!(render("{.status.conditions[?(@.type!='Ready')].type}", &c).unwrap(), "Synced");
        assert_eq!(render("{.status.conditions[?(@.n>2)].type}", &c).unwrap(), "Ready");
        assert_eq!(render("{.status.conditions[?(@.n)].type}", &c).unwrap(), "Ready");
        assert_eq!(render(r#"{.status.conditions[?(@.type=="a]b")].type}"#, &c).unwrap(), "");
        assert!(render("{.items[?(x)]}", &v).is_err());
        // Errors say where the expression stops making sense.
        let e = render("{.items[0}", &v).unwrap_err();
        assert!(e.contains("at byte 8"), "{e}");
        let e = eval(".a[?(@.b==)]", &v).unwrap_err();
        assert!(e.contains("at byte 10"), "{e}");
        assert_eq!(eval("$.items[*].metadata.name", &v).unwrap().len(), 2);
        let deep = format!(".a{}", "[?(@.b".repeat(5000));
        assert!(eval(&deep, &v).unwrap_err().contains("nests brackets"));
    }
}
