//! A subset of kubectl's jsonpath templates: literal text with `{…}` expressions made of
//! `.field`, `['field']`, `[n]`, `[*]` and filter (`[?(@.type=="Ready")]`, `[?(@.port>80)]`,
//! `[?(@.ready)]`) steps, `{"\n"}`-style literals; several results of one expression are joined
//! with spaces, as kubectl does. CRDs' additionalPrinterColumns use the same expressions.

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
            let text: Vec<String> = values.iter().map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            }).collect();
            out.push_str(&text.join(" "));
        }
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn eval<'a>(expr: &str, root: &'a Value) -> Result<Vec<&'a Value>, String> {
    let mut current = vec![root];
    let mut s = expr.strip_prefix('$').unwrap_or(expr);
    while !s.is_empty() {
        if let Some(r) = s.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            let key = &r[..end];
            if !key.is_empty() {
                current = current.into_iter().filter_map(|v| v.get(key)).collect();
            }
            s = &r[end..];
        } else if let Some(r) = s.strip_prefix('[') {
            let end = closing_bracket(r).ok_or_else(|| format!("unclosed [ in {expr:?}"))?;
            let sel = r[..end].trim();
            current = match sel {
                f if f.starts_with("?(") && f.ends_with(')') => {
                    let pred = Filter::parse(&f[2..f.len() - 1]).ok_or_else(|| format!("unsupported jsonpath filter [{f}]"))?;
                    current
                        .into_iter()
                        .flat_map(|v| match v {
                            Value::Array(a) => a.iter().collect::<Vec<_>>(),
                            other => vec![other],
                        })
                        .filter(|v| pred.holds(v))
                        .collect()
                }
                "*" => current.into_iter().flat_map(|v| match v {
                    Value::Array(a) => a.iter().collect::<Vec<_>>(),
                    Value::Object(m) => m.values().collect(),
                    _ => Vec::new(),
                }).collect(),
                q if q.starts_with('\'') && q.ends_with('\'') && q.len() >= 2 => {
                    let key = &q[1..q.len() - 1];
                    current.into_iter().filter_map(|v| v.get(key)).collect()
                }
                n => {
                    let i: i64 = n.parse().map_err(|_| format!("unsupported jsonpath selector [{n}]"))?;
                    current.into_iter().filter_map(|v| {
                        let a = v.as_array()?;
                        let idx = if i < 0 { a.len() as i64 + i } else { i };
                        a.get(usize::try_from(idx).ok()?)
                    }).collect()
                }
            };
            s = &r[end + 1..];
        } else {
            return Err(format!("unsupported jsonpath expression {expr:?} (supported: .field, ['field'], [n], [*], [?(@.f==\"v\")])"));
        }
    }
    Ok(current)
}

/// The `]` closing the selector that starts `r` (quotes and nested brackets skipped).
fn closing_bracket(r: &str) -> Option<usize> {
    let (mut depth, mut quote) = (0usize, None);
    for (i, c) in r.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '[') => depth += 1,
            (None, ']') if depth == 0 => return Some(i),
            (None, ']') => depth -= 1,
            _ => {}
        }
    }
    None
}

/// `@.path`, or `@.path <op> literal` (a quoted string or a number).
struct Filter {
    path: String,
    test: Option<(&'static str, Value)>,
}

impl Filter {
    fn parse(text: &str) -> Option<Filter> {
        let text = text.trim();
        // The left side is a path (no quotes), so the first operator from the left is the one.
        let at = text.char_indices().find_map(|(i, _)| ["==", "!=", "<=", ">=", "<", ">"].into_iter().find(|op| text[i..].starts_with(op)).map(|op| (i, op)));
        if let Some((i, op)) = at {
            let (lhs, rhs) = (&text[..i], text[i + op.len()..].trim());
            let quoted = rhs.strip_prefix('"').and_then(|r| r.strip_suffix('"')).or_else(|| rhs.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')));
            let lit = match quoted {
                Some(s) => Value::String(s.to_string()),
                None => serde_json::from_str::<Value>(rhs).ok().filter(|v| v.is_number() || v.is_boolean())?,
            };
            return Some(Filter { path: lhs.trim().strip_prefix('@')?.to_string(), test: Some((op, lit)) });
        }
        Some(Filter { path: text.strip_prefix('@')?.to_string(), test: None })
    }

    fn holds(&self, v: &Value) -> bool {
        let Ok(found) = eval(&self.path, v) else { return false };
        let Some(&actual) = found.first() else { return false };
        let Some((op, lit)) = &self.test else { return !matches!(actual, Value::Null | Value::Bool(false)) };
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
    }
}
