//! apimachinery's name and label validation (`k8s.io/apimachinery/pkg/util/validation`), with
//! upstream's messages: the API types, the scheduler's configuration and the scenario loader all
//! check names with these.

const QNAME_REGEX_DOC: &str = "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]'";

fn is_alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`, anchored; the empty string does not match.
pub fn matches_qualified_name_part(s: &str) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(&first), Some(&last)) => {
            is_alnum(first)
                && is_alnum(last)
                && b.iter()
                    .all(|&c| is_alnum(c) || c == b'-' || c == b'_' || c == b'.')
        }
        _ => false,
    }
}

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*`, at most 253 characters
/// (apimachinery `IsDNS1123Subdomain`).
pub fn is_dns1123_subdomain(s: &str) -> bool {
    let label_ok = |l: &str| {
        let b = l.as_bytes();
        let lower_alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
        match (b.first(), b.last()) {
            (Some(&f), Some(&l)) => {
                lower_alnum(f) && lower_alnum(l) && b.iter().all(|&c| lower_alnum(c) || c == b'-')
            }
            _ => false,
        }
    };
    s.len() <= 253 && s.split('.').all(label_ok)
}

/// apimachinery `validation.IsQualifiedName`: an optional DNS-subdomain prefix and `/`, then a
/// name of at most 63 characters. Returns upstream's first error message.
pub fn qualified_name_error(value: &str) -> Option<String> {
    let mut parts = value.split('/');
    let (first, second, third) = (parts.next(), parts.next(), parts.next());
    let name = match (first, second, third) {
        (Some(name), None, _) => name,
        (Some(prefix), Some(name), None) => {
            if prefix.is_empty() {
                return Some("prefix part must be non-empty".to_string());
            }
            if !is_dns1123_subdomain(prefix) {
                return Some(
                    "prefix part a lowercase RFC 1123 subdomain must consist of lower case \
                     alphanumeric characters, '-' or '.', and must start and end with an \
                     alphanumeric character (e.g. 'example.com', regex used for validation is \
                     '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
                        .to_string(),
                );
            }
            name
        }
        _ => {
            return Some(format!(
                "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and \
                 must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  \
                 or '123-abc', regex used for validation is {QNAME_REGEX_DOC}) with an optional DNS \
                 subdomain prefix and '/' (e.g. 'example.com/MyName')"
            ));
        }
    };
    if name.is_empty() {
        return Some("name part must be non-empty".to_string());
    }
    if name.len() > 63 {
        return Some("name part must be no more than 63 characters".to_string());
    }
    if !matches_qualified_name_part(name) {
        return Some(format!(
            "name part must consist of alphanumeric characters, '-', '_' or '.', and must start \
             and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', \
             regex used for validation is {QNAME_REGEX_DOC})"
        ));
    }
    None
}

/// apimachinery `validation.IsValidLabelValue`: empty, or a qualified-name part of at most 63
/// characters.
pub fn label_value_error(value: &str) -> Option<String> {
    if value.len() > 63 {
        return Some("must be no more than 63 characters".to_string());
    }
    if !value.is_empty() && !matches_qualified_name_part(value) {
        return Some(
            "a valid label must be an empty string or consist of alphanumeric characters, '-', \
             '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  \
             or 'my_value',  or '12345', regex used for validation is \
             '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
                .to_string(),
        );
    }
    None
}
