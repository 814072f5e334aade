//! The flag value types of docker's CLI that the network flags use, read as docker reads
//! them: pflag's string slices (each value a CSV record, so `--alias a,b` is two aliases),
//! `key=value` maps, and `--link name[:alias]`.

use std::collections::BTreeMap;

use crate::error::CliError;

/// pflag's complaint about one flag value: `invalid argument "v" for "--flag" flag: why`.
pub fn flag_error(value: &str, flag: &str, why: impl std::fmt::Display) -> CliError {
    CliError::usage(format!(
        "invalid argument {value:?} for {flag:?} flag: {why}"
    ))
}

/// `-f/--filter` values read as docker's `FilterOpt` reads them (`name=value` each); `flag`
/// is the flag's spelling in the error.
pub fn filter_flags(
    values: &[String],
    flag: &str,
) -> Result<berth_api::filters::Filters, CliError> {
    let mut filters = berth_api::filters::Filters::new();
    for f in values {
        filters
            .add_arg(f)
            .map_err(|_| flag_error(f, flag, "bad format of filter (expected name=value)"))?;
    }
    Ok(filters)
}

/// One record of Go's `encoding/csv` (default settings): fields split at commas, a field
/// that starts with `"` is quoted (`""` inside is a quote), a quote anywhere else is an error.
pub fn csv_fields(s: &str) -> Result<Vec<String>, String> {
    let bytes = s.as_bytes();
    let mut fields = Vec::new();
    let mut i = 0;
    loop {
        let mut field = Vec::new();
        if bytes.get(i) == Some(&b'"') {
            i += 1;
            loop {
                match bytes.get(i) {
                    None => {
                        return Err(format!(
                            "parse error on line 1, column {}: extraneous or missing \" in quoted-field",
                            i + 1
                        ))
                    }
                    Some(b'"') if bytes.get(i + 1) == Some(&b'"') => {
                        field.push(b'"');
                        i += 2;
                    }
                    Some(b'"') => {
                        i += 1;
                        break;
                    }
                    Some(&c) => {
                        field.push(c);
                        i += 1;
                    }
                }
            }
            match bytes.get(i) {
                None | Some(b',') => {}
                Some(_) => {
                    return Err(format!(
                    "parse error on line 1, column {}: extraneous or missing \" in quoted-field",
                    i + 1
                ))
                }
            }
        } else {
            while let Some(&c) = bytes.get(i) {
                match c {
                    b',' => break,
                    b'"' => {
                        return Err(format!(
                            "parse error on line 1, column {}: bare \" in non-quoted-field",
                            i + 1
                        ))
                    }
                    _ => field.push(c),
                }
                i += 1;
            }
        }
        fields.push(String::from_utf8_lossy(&field).into_owned());
        if bytes.get(i) == Some(&b',') {
            i += 1;
        } else {
            return Ok(fields);
        }
    }
}

/// The values of a pflag `strings` flag (`--subnet`, `--alias`, …): each given value is a
/// CSV record of one or more items; an empty value adds none.
pub fn string_slice(flag: &str, values: &[String]) -> Result<Vec<String>, CliError> {
    let mut out = Vec::new();
    for v in values {
        if v.is_empty() {
            continue;
        }
        out.extend(csv_fields(v).map_err(|e| flag_error(v, flag, e))?);
    }
    Ok(out)
}

/// docker's `MapOpts` and `ConvertKVStringsToMap`: `key=value`, or `key` for an empty value.
pub fn kv_map(values: &[String]) -> BTreeMap<String, String> {
    values
        .iter()
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (kv.clone(), String::new()),
        })
        .collect()
}

/// docker's `ValidateLink`: `name` or `name:alias`, refused as pflag refuses it.
pub fn validate_links(values: &[String]) -> Result<(), CliError> {
    for v in values {
        if v.is_empty() {
            return Err(flag_error(v, "--link", "empty string specified for links"));
        }
        if v.split(':').count() > 2 {
            return Err(flag_error(
                v,
                "--link",
                format!("bad format for links: {v}"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn csv_records_as_go_reads_them() {
        assert_eq!(csv_fields("a").unwrap(), ["a"]);
        assert_eq!(csv_fields("a,b").unwrap(), ["a", "b"]);
        assert_eq!(csv_fields("a,,b").unwrap(), ["a", "", "b"]);
        assert_eq!(csv_fields(" a ").unwrap(), [" a "]);
        assert_eq!(csv_fields("\"a,b\",c").unwrap(), ["a,b", "c"]);
        assert_eq!(csv_fields("\"say \"\"hi\"\"\"").unwrap(), ["say \"hi\""]);
        assert!(csv_fields("a\"b").unwrap_err().contains("bare \""));
        assert!(csv_fields("\"ab")
            .unwrap_err()
            .contains("extraneous or missing"));
        assert!(csv_fields("\"a\"b")
            .unwrap_err()
            .contains("extraneous or missing"));
    }

    #[test]
    fn string_slices_split_each_value() {
        let v = string_slice("--alias", &strings(&["a,b", "", "\"c,d\""])).unwrap();
        assert_eq!(v, ["a", "b", "c,d"]);
        let e = string_slice("--alias", &strings(&["x\"y"])).unwrap_err();
        assert!(e
            .message
            .starts_with("invalid argument \"x\\\"y\" for \"--alias\" flag: parse error"));
        assert_eq!(e.status, 125);
    }

    #[test]
    fn maps_and_links() {
        let m = kv_map(&strings(&["a=1", "b", "c=x=y"]));
        assert_eq!(m["a"], "1");
        assert_eq!(m["b"], "");
        assert_eq!(m["c"], "x=y");
        assert!(validate_links(&strings(&["db", "db:alias", "/db:/web/alias"])).is_ok());
        assert_eq!(
            validate_links(&strings(&["a:b:c"])).unwrap_err().message,
            "invalid argument \"a:b:c\" for \"--link\" flag: bad format for links: a:b:c"
        );
        assert_eq!(
            validate_links(&strings(&[""])).unwrap_err().message,
            "invalid argument \"\" for \"--link\" flag: empty string specified for links"
        );
    }
}
