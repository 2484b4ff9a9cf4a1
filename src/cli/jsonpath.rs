//! A subset of kubectl's jsonpath templates: literal text with `{…}` expressions made of
//! `.field`, `['field']`, `[n]` and `[*]` steps, `{"\n"}`-style literals; several results of one
//! expression are joined with spaces, as kubectl does.

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
            let end = r.find(']').ok_or_else(|| format!("unclosed [ in {expr:?}"))?;
            let sel = r[..end].trim();
            current = match sel {
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
            return Err(format!("unsupported jsonpath expression {expr:?} (supported: .field, ['field'], [n], [*])"));
        }
    }
    Ok(current)
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
        assert!(render("{.items[?(@.x)]}", &v).is_err());
    }
}
