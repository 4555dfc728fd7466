//! HTTP/1.x messages as bytes. Headers are written exactly as given (order, spelling, no
//! automatic additions), so tests control every byte a parser sees.

/// `METHOD target VERSION`, the headers, an empty line, then `body`.
pub fn request(
    method: &str,
    target: &str,
    version: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Vec<u8> {
    message(&format!("{method} {target} {version}"), headers, body)
}

/// `VERSION code reason`, the headers, an empty line, then `body`.
pub fn response(
    version: &str,
    code: u16,
    reason: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Vec<u8> {
    message(&format!("{version} {code} {reason}"), headers, body)
}

fn message(start_line: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len().saturating_add(256));
    out.extend_from_slice(start_line.as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in headers {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// A small deterministic HTML page of roughly `size` bytes (at least the skeleton), for bodies
/// that need several segments.
pub fn html_page(title: &str, size: usize) -> Vec<u8> {
    let mut page = format!("<html><head><title>{title}</title></head><body>\n");
    let mut line = 0u32;
    while page.len().saturating_add(16) < size {
        line = line.saturating_add(1);
        page.push_str(&format!("<p>line {line:04}</p>\n"));
    }
    page.push_str("</body></html>\n");
    page.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_bytes() {
        let r = request(
            "GET",
            "http://a.example/x",
            "HTTP/1.0",
            &[("Host", "a.example")],
            b"",
        );
        assert_eq!(
            r,
            b"GET http://a.example/x HTTP/1.0\r\nHost: a.example\r\n\r\n"
        );
    }

    #[test]
    fn response_with_body() {
        let r = response("HTTP/1.1", 200, "OK", &[("Content-Length", "2")], b"hi");
        assert_eq!(r, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi");
    }

    #[test]
    fn page_size_is_close() {
        let p = html_page("t", 1000);
        assert!((990..=1030).contains(&p.len()), "{}", p.len());
        assert!(p.ends_with(b"</html>\n"));
    }
}
