//! HTTP authentication headers (RFC 7235 / RFC 9110 §11): challenges in `WWW-Authenticate` and
//! `Proxy-Authenticate`, credentials in `Authorization` and `Proxy-Authorization`.
//!
//! A header value may hold several comma-separated challenges, and a challenge's auth-params are
//! comma-separated too, so a list like `Basic realm="a, b", NTLM, Digest realm=x, nonce=y` is
//! split by looking at each element: `name=value` continues the current challenge, anything else
//! starts a new one. NTLM and Negotiate tokens are kept as the raw base64 text (the NTLM module
//! decodes them). Secrets (a Basic password, a Bearer token) are held in [`Secret`], which is
//! left out of serialized output unless the `show_secrets` option revealed it.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;

use super::ascii::str_eq_ignore_case;
use serde::Serialize;

/// Most challenges kept from one header value.
pub const MAX_CHALLENGES_PER_VALUE: usize = 32;
/// Most auth-params kept per challenge or credentials.
pub const MAX_PARAMS: usize = 32;

/// Which header an auth item came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuthHeaderName {
    /// `WWW-Authenticate` (origin server challenge, with 401).
    WwwAuthenticate,
    /// `Proxy-Authenticate` (proxy challenge, with 407).
    ProxyAuthenticate,
    /// `Authorization` (credentials for the origin server).
    Authorization,
    /// `Proxy-Authorization` (credentials for the proxy).
    ProxyAuthorization,
}

impl AuthHeaderName {
    /// Recognises an auth header name (case-insensitive).
    pub fn from_header(name: &str) -> Option<AuthHeaderName> {
        [
            ("www-authenticate", AuthHeaderName::WwwAuthenticate),
            ("proxy-authenticate", AuthHeaderName::ProxyAuthenticate),
            ("authorization", AuthHeaderName::Authorization),
            ("proxy-authorization", AuthHeaderName::ProxyAuthorization),
        ]
        .into_iter()
        .find(|(n, _)| str_eq_ignore_case(name, n))
        .map(|(_, h)| h)
    }

    /// The header's name as usually written, e.g. `Proxy-Authorization`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthHeaderName::WwwAuthenticate => "WWW-Authenticate",
            AuthHeaderName::ProxyAuthenticate => "Proxy-Authenticate",
            AuthHeaderName::Authorization => "Authorization",
            AuthHeaderName::ProxyAuthorization => "Proxy-Authorization",
        }
    }

    /// True for the headers that carry credentials rather than challenges.
    pub fn carries_credentials(self) -> bool {
        matches!(
            self,
            AuthHeaderName::Authorization | AuthHeaderName::ProxyAuthorization
        )
    }
}

/// The well-known authentication schemes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthScheme {
    /// RFC 7617 Basic.
    Basic,
    /// RFC 7616 Digest.
    Digest,
    /// Microsoft NTLM over HTTP.
    Ntlm,
    /// RFC 4559 Negotiate (SPNEGO, or raw NTLM/Kerberos tokens).
    Negotiate,
    /// RFC 6750 Bearer.
    Bearer,
    /// Anything else; see the `scheme` text.
    Other,
}

impl AuthScheme {
    /// Classifies a scheme name (case-insensitive).
    pub fn from_name(name: &str) -> AuthScheme {
        [
            ("basic", AuthScheme::Basic),
            ("digest", AuthScheme::Digest),
            ("ntlm", AuthScheme::Ntlm),
            ("negotiate", AuthScheme::Negotiate),
            ("bearer", AuthScheme::Bearer),
        ]
        .into_iter()
        .find(|(n, _)| name.eq_ignore_ascii_case(n))
        .map_or(AuthScheme::Other, |(_, s)| s)
    }

    /// True when the credentials' token is a reusable secret that must not be shown by default.
    /// NTLM/Negotiate tokens are challenge-bound and needed for diagnosis; Digest carries hashes.
    pub fn token_is_secret(self) -> bool {
        !matches!(
            self,
            AuthScheme::Ntlm | AuthScheme::Negotiate | AuthScheme::Digest
        )
    }
}

/// One `name=value` auth-param (quoted strings unescaped).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuthParam {
    /// Parameter name as sent.
    pub name: String,
    /// Parameter value, unquoted.
    pub value: String,
}

/// One challenge from `WWW-Authenticate` or `Proxy-Authenticate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Challenge {
    /// The header it came from.
    pub header: AuthHeaderName,
    /// The scheme as sent (`NTLM`, `Basic`, ...).
    pub scheme: String,
    /// The scheme, classified.
    pub kind: AuthScheme,
    /// The token68 after the scheme (the base64 NTLM Type 2 message for NTLM), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// The auth-params (`realm`, `nonce`, ...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<AuthParam>,
    /// True when part of the challenge could not be parsed and was skipped.
    #[serde(skip_serializing_if = "is_false")]
    pub malformed: bool,
}

impl Challenge {
    /// The value of an auth-param (case-insensitive name).
    pub fn param(&self, name: &str) -> Option<&str> {
        find_param(&self.params, name)
    }

    /// The `realm` param.
    pub fn realm(&self) -> Option<&str> {
        self.param("realm")
    }
}

/// A secret string. It is only serialized when revealed (the `show_secrets` option); `Debug`
/// shows it redacted. Code in this process can still compare or inspect it with [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    value: String,
    revealed: bool,
}

impl Secret {
    /// Wraps a secret; `revealed` decides whether serialization shows it.
    pub fn new(value: String, revealed: bool) -> Secret {
        Secret { value, revealed }
    }

    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.value
    }

    /// True unless revealed; used by `skip_serializing_if`.
    pub fn is_hidden(&self) -> bool {
        !self.revealed
    }
}

impl core::fmt::Debug for Secret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if self.revealed {
            core::fmt::Debug::fmt(&self.value, f)
        } else {
            f.write_str("Secret([redacted])")
        }
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.revealed {
            s.serialize_str(&self.value)
        } else {
            s.serialize_str("[redacted]")
        }
    }
}

/// Decoded `Basic` credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BasicCredentials {
    /// The user name (text before the first `:`; lossy UTF-8).
    pub user: String,
    /// True when the password is withheld from output (no `show_secrets`).
    pub password_redacted: bool,
    /// True when the password is empty.
    pub password_empty: bool,
    /// The password; serialized only with `show_secrets`.
    #[serde(skip_serializing_if = "Secret::is_hidden")]
    pub password: Secret,
    /// Why the token was not well-formed (`not base64`, `no colon`), if it was not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<&'static str>,
}

/// The credentials in one `Authorization` or `Proxy-Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Credentials {
    /// The header it came from.
    pub header: AuthHeaderName,
    /// The scheme as sent.
    pub scheme: String,
    /// The scheme, classified.
    pub kind: AuthScheme,
    /// The token68 for schemes whose token is not a reusable secret (NTLM, Negotiate): the raw
    /// base64 text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// The token68 of secret-bearing schemes (Bearer, unknown); serialized only with
    /// `show_secrets`. Basic credentials are decoded into `basic` instead.
    #[serde(skip_serializing_if = "secret_is_hidden")]
    pub secret_token: Option<Secret>,
    /// The auth-params (Digest `username`, `response`, ...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<AuthParam>,
    /// Decoded user name and (redacted) password for Basic.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub basic: Option<BasicCredentials>,
    /// True when part of the value could not be parsed.
    #[serde(skip_serializing_if = "is_false")]
    pub malformed: bool,
}

impl Credentials {
    /// The value of an auth-param (case-insensitive name).
    pub fn param(&self, name: &str) -> Option<&str> {
        find_param(&self.params, name)
    }
}

fn secret_is_hidden(s: &Option<Secret>) -> bool {
    s.as_ref().is_none_or(Secret::is_hidden)
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn find_param<'a>(params: &'a [AuthParam], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case(name))
        .map(|p| p.value.as_str())
}

/// Parses every challenge in one `WWW-Authenticate`/`Proxy-Authenticate` value.
pub fn parse_challenges(header: AuthHeaderName, value: &str) -> Vec<Challenge> {
    parse_auth_list(value)
        .into_iter()
        .map(|raw| Challenge {
            header,
            kind: AuthScheme::from_name(&raw.scheme),
            scheme: raw.scheme,
            token: raw.token,
            params: raw.params,
            malformed: raw.malformed,
        })
        .collect()
}

/// Parses the credentials in one `Authorization`/`Proxy-Authorization` value. Returns `None`
/// for an empty value.
pub fn parse_credentials(
    header: AuthHeaderName,
    value: &str,
    show_secrets: bool,
) -> Option<Credentials> {
    let mut items = parse_auth_list(value).into_iter();
    let raw = items.next()?;
    // Credentials hold one scheme; anything after it is malformed.
    let malformed = raw.malformed || items.next().is_some();
    let kind = AuthScheme::from_name(&raw.scheme);
    let mut creds = Credentials {
        header,
        scheme: raw.scheme,
        kind,
        token: None,
        secret_token: None,
        params: raw.params,
        basic: None,
        malformed,
    };
    match (kind, raw.token) {
        (AuthScheme::Basic, Some(token)) => {
            creds.basic = Some(decode_basic(&token, show_secrets));
        }
        (AuthScheme::Basic, None) => {
            creds.malformed = true;
        }
        (k, Some(token)) if k.token_is_secret() => {
            creds.secret_token = Some(Secret::new(token, show_secrets));
        }
        (_, token) => creds.token = token,
    }
    Some(creds)
}

/// The value of a credentials header as it may be shown: secret-bearing schemes have their
/// token replaced by `[redacted]` unless `show_secrets`.
pub fn displayable_credentials_value(value: &str, show_secrets: bool) -> String {
    if show_secrets {
        return value.to_string();
    }
    let trimmed = value.trim_start();
    let scheme_end = trimmed.find([' ', '\t']).unwrap_or(trimmed.len());
    let scheme = trimmed.get(..scheme_end).unwrap_or("");
    if AuthScheme::from_name(scheme).token_is_secret() && scheme_end < trimmed.len() {
        format!("{scheme} [redacted]")
    } else {
        value.to_string()
    }
}

fn decode_basic(token: &str, show_secrets: bool) -> BasicCredentials {
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let (user, password, problem) = match LENIENT.decode(token) {
        Ok(bytes) => match bytes.iter().position(|&b| b == b':') {
            Some(colon) => {
                let (u, p) = bytes.split_at(colon);
                let p = p.get(1..).unwrap_or(&[]);
                (
                    String::from_utf8_lossy(u).into_owned(),
                    String::from_utf8_lossy(p).into_owned(),
                    None,
                )
            }
            None => (
                String::from_utf8_lossy(&bytes).into_owned(),
                String::new(),
                Some("no colon"),
            ),
        },
        Err(_) => (String::new(), String::new(), Some("not base64")),
    };
    BasicCredentials {
        user,
        password_redacted: !show_secrets,
        password_empty: password.is_empty(),
        password: Secret::new(password, show_secrets),
        problem,
    }
}

/// One element list item before classification.
#[derive(Debug, Default, PartialEq, Eq)]
struct RawAuthItem {
    scheme: String,
    token: Option<String>,
    params: Vec<AuthParam>,
    malformed: bool,
}

/// Cursor over an auth header value. Only ASCII bytes are ever used as slice boundaries, so
/// `str::get` never splits a character (and returns `None` rather than panicking if it would).
struct Cursor<'a> {
    s: &'a str,
    i: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.i).copied()
    }

    fn at_end(&self) -> bool {
        self.i >= self.s.len()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }

    fn skip_ws_and_commas(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b',')) {
            self.i += 1;
        }
    }

    fn take_while(&mut self, pred: impl Fn(u8) -> bool) -> &'a str {
        let start = self.i;
        while self.peek().is_some_and(&pred) {
            self.i += 1;
        }
        self.s.get(start..self.i).unwrap_or("")
    }

    /// Skips to the next top-level comma (quoted strings respected).
    fn skip_element(&mut self) {
        while let Some(b) = self.peek() {
            match b {
                b',' => return,
                b'"' => {
                    let _ = self.quoted();
                }
                _ => self.i += 1,
            }
        }
    }

    /// A quoted-string starting at `"`; returns the unescaped content and whether it was closed.
    fn quoted(&mut self) -> (String, bool) {
        let mut out = String::new();
        self.i += 1; // opening quote
        let rest = self.s.get(self.i..).unwrap_or("");
        let mut chars = rest.char_indices();
        while let Some((off, c)) = chars.next() {
            match c {
                '"' => {
                    self.i += off + 1;
                    return (out, true);
                }
                '\\' => {
                    if let Some((_, escaped)) = chars.next() {
                        out.push(escaped);
                    }
                }
                c => out.push(c),
            }
        }
        self.i = self.s.len();
        (out, false)
    }

    /// `= value` after a param name (cursor at `=`); returns the value and whether it was clean.
    fn param_value(&mut self) -> (String, bool) {
        self.i += 1; // '='
        self.skip_ws();
        match self.peek() {
            Some(b'"') => self.quoted(),
            _ => (self.take_while(is_tchar).to_string(), true),
        }
    }

    /// After a complete element: true when the next thing is a comma or the end.
    fn at_element_end(&mut self) -> bool {
        self.skip_ws();
        matches!(self.peek(), None | Some(b','))
    }
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_token68_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~+/".contains(&b)
}

/// Splits an auth header value into challenges/credentials (see the module docs).
fn parse_auth_list(value: &str) -> Vec<RawAuthItem> {
    let mut items: Vec<RawAuthItem> = Vec::new();
    let mut c = Cursor { s: value, i: 0 };
    loop {
        c.skip_ws_and_commas();
        if c.at_end() {
            break;
        }
        let element_start = c.i;
        let name = c.take_while(is_tchar);
        if name.is_empty() {
            if let Some(last) = items.last_mut() {
                last.malformed = true;
            }
            c.skip_element();
            continue;
        }
        let after_name = c.i;
        c.skip_ws();
        if c.peek() == Some(b'=') {
            // `name=value`: an auth-param of the current challenge.
            let (value, clean) = c.param_value();
            let clean = clean && c.at_element_end();
            match items.last_mut() {
                Some(last) => {
                    if last.params.len() < MAX_PARAMS {
                        last.params.push(AuthParam {
                            name: name.to_string(),
                            value,
                        });
                    }
                    last.malformed |= !clean;
                }
                None => {
                    // A param with no scheme before it: not a challenge.
                    c.i = element_start;
                }
            }
            if !clean || items.is_empty() {
                c.skip_element();
            }
            continue;
        }
        if items.len() >= MAX_CHALLENGES_PER_VALUE {
            break;
        }
        c.i = after_name;
        let mut item = RawAuthItem {
            scheme: name.to_string(),
            ..RawAuthItem::default()
        };
        if !c.at_element_end() {
            // `scheme SP (token68 / #auth-param)`.
            let t0 = c.i;
            let body = c.take_while(is_token68_char);
            let token_end = {
                let _ = c.take_while(|b| b == b'=');
                c.i
            };
            if !body.is_empty() && c.at_element_end() {
                item.token = value.get(t0..token_end).map(str::to_string);
            } else {
                c.i = t0;
                let pname = c.take_while(is_tchar);
                c.skip_ws();
                if !pname.is_empty() && c.peek() == Some(b'=') {
                    let (pvalue, clean) = c.param_value();
                    item.params.push(AuthParam {
                        name: pname.to_string(),
                        value: pvalue,
                    });
                    if !(clean && c.at_element_end()) {
                        item.malformed = true;
                        c.skip_element();
                    }
                } else {
                    item.malformed = true;
                    c.skip_element();
                }
            }
        }
        items.push(item);
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(name: &str, value: &str) -> AuthParam {
        AuthParam {
            name: name.into(),
            value: value.into(),
        }
    }

    #[test]
    fn basic_realm_with_comma_inside_quotes() {
        let ch = parse_challenges(AuthHeaderName::WwwAuthenticate, r#"Basic realm="a, b""#);
        assert_eq!(ch.len(), 1);
        assert_eq!(ch[0].kind, AuthScheme::Basic);
        assert_eq!(ch[0].realm(), Some("a, b"));
        assert!(!ch[0].malformed);
    }

    #[test]
    fn several_challenges_in_one_value() {
        let v = r#"Negotiate, NTLM, Basic realm="LabProxy", charset="UTF-8", Digest realm="x\"y", nonce=abc, qop="auth,auth-int""#;
        let ch = parse_challenges(AuthHeaderName::ProxyAuthenticate, v);
        let schemes: Vec<_> = ch.iter().map(|c| c.scheme.as_str()).collect();
        assert_eq!(schemes, ["Negotiate", "NTLM", "Basic", "Digest"]);
        assert_eq!(
            ch[2].params,
            vec![p("realm", "LabProxy"), p("charset", "UTF-8")]
        );
        assert_eq!(
            ch[3].params,
            vec![
                p("realm", "x\"y"),
                p("nonce", "abc"),
                p("qop", "auth,auth-int")
            ]
        );
        assert!(ch.iter().all(|c| !c.malformed && c.token.is_none()));
    }

    #[test]
    fn ntlm_challenge_token_is_kept_raw() {
        // squid-ntlm-proxy-auth-ok-curl.pcap, frame 6.
        let v = "NTLM TlRMTVNTUAACAAAACQAJAK6qqqoGgggALRtbmNZ4a3cAAAAAAAA6AFdPUktHUk9VUA==";
        let ch = parse_challenges(AuthHeaderName::ProxyAuthenticate, v);
        assert_eq!(ch.len(), 1);
        assert_eq!(ch[0].kind, AuthScheme::Ntlm);
        assert_eq!(
            ch[0].token.as_deref(),
            Some("TlRMTVNTUAACAAAACQAJAK6qqqoGgggALRtbmNZ4a3cAAAAAAAA6AFdPUktHUk9VUA==")
        );
        let two = parse_challenges(AuthHeaderName::WwwAuthenticate, "Negotiate abc=, NTLM");
        assert_eq!(two.len(), 2);
        assert_eq!(two[0].token.as_deref(), Some("abc="));
        assert_eq!(two[1].kind, AuthScheme::Ntlm);
    }

    #[test]
    fn token68_ending_in_equals_is_not_a_param() {
        let ch = parse_challenges(AuthHeaderName::WwwAuthenticate, "Negotiate YII==");
        assert_eq!(ch[0].token.as_deref(), Some("YII=="));
        assert!(ch[0].params.is_empty());
    }

    #[test]
    fn malformed_values_do_not_derail_the_list() {
        let ch = parse_challenges(
            AuthHeaderName::WwwAuthenticate,
            r#"Basic realm="unterminated, NTLM"#,
        );
        assert_eq!(ch.len(), 1);
        assert_eq!(ch[0].realm(), Some("unterminated, NTLM"));
        let ch = parse_challenges(AuthHeaderName::WwwAuthenticate, "Basic @@@, NTLM");
        assert_eq!(ch.len(), 2);
        assert!(ch[0].malformed);
        assert_eq!(ch[1].kind, AuthScheme::Ntlm);
        assert!(parse_challenges(AuthHeaderName::WwwAuthenticate, " , ,").is_empty());
        assert!(parse_challenges(AuthHeaderName::WwwAuthenticate, "realm=x").is_empty());
    }

    #[test]
    fn basic_credentials_are_decoded_and_redacted() {
        // squid-basic-proxy-auth-rejected-curl.pcap, frame 4: labuser:WrongPass.
        let c = parse_credentials(
            AuthHeaderName::ProxyAuthorization,
            "Basic bGFidXNlcjpXcm9uZ1Bhc3M=",
            false,
        )
        .unwrap();
        let basic = c.basic.as_ref().unwrap();
        assert_eq!(basic.user, "labuser");
        assert!(basic.password_redacted);
        assert_eq!(basic.password.expose(), "WrongPass");
        let json = serde_json::to_string(&c).unwrap();
        assert!(!json.contains("WrongPass"), "{json}");
        assert!(json.contains(r#""password_redacted":true"#), "{json}");
        assert!(!format!("{c:?}").contains("WrongPass"));

        let shown = parse_credentials(
            AuthHeaderName::ProxyAuthorization,
            "Basic bGFidXNlcjpXcm9uZ1Bhc3M=",
            true,
        )
        .unwrap();
        let json = serde_json::to_string(&shown).unwrap();
        assert!(json.contains(r#""password":"WrongPass""#), "{json}");
    }

    #[test]
    fn basic_problems_are_reported() {
        let c = parse_credentials(AuthHeaderName::Authorization, "Basic !!!", false).unwrap();
        assert!(c.malformed);
        let c = parse_credentials(AuthHeaderName::Authorization, "Basic dXNlcg", false).unwrap();
        assert_eq!(c.basic.as_ref().unwrap().user, "user");
        assert_eq!(c.basic.as_ref().unwrap().problem, Some("no colon"));
        let c = parse_credentials(AuthHeaderName::Authorization, "Basic", false).unwrap();
        assert!(c.malformed);
    }

    #[test]
    fn ntlm_and_negotiate_credentials_keep_the_token() {
        let c = parse_credentials(
            AuthHeaderName::ProxyAuthorization,
            "NTLM TlRMTVNTUAABAAAABoIIAAAAAAAAAAAAAAAAAAAAAAA=",
            false,
        )
        .unwrap();
        assert_eq!(c.kind, AuthScheme::Ntlm);
        assert_eq!(
            c.token.as_deref(),
            Some("TlRMTVNTUAABAAAABoIIAAAAAAAAAAAAAAAAAAAAAAA=")
        );
        let c =
            parse_credentials(AuthHeaderName::Authorization, "Negotiate YIIGhg==", false).unwrap();
        assert_eq!(c.token.as_deref(), Some("YIIGhg=="));
    }

    #[test]
    fn bearer_tokens_are_secret_and_digest_params_are_kept() {
        let c = parse_credentials(AuthHeaderName::Authorization, "Bearer abc.def", false).unwrap();
        assert!(c.token.is_none());
        assert_eq!(c.secret_token.as_ref().unwrap().expose(), "abc.def");
        assert!(!serde_json::to_string(&c).unwrap().contains("abc.def"));
        let c = parse_credentials(
            AuthHeaderName::Authorization,
            r#"Digest username="bob", realm="r", response="00ff""#,
            false,
        )
        .unwrap();
        assert_eq!(c.param("username"), Some("bob"));
        assert_eq!(c.param("RESPONSE"), Some("00ff"));
    }

    #[test]
    fn displayable_value_redacts_secret_schemes_only() {
        assert_eq!(
            displayable_credentials_value("Basic dXNlcjpwdw==", false),
            "Basic [redacted]"
        );
        assert_eq!(
            displayable_credentials_value("Basic dXNlcjpwdw==", true),
            "Basic dXNlcjpwdw=="
        );
        assert_eq!(
            displayable_credentials_value("NTLM TlRM", false),
            "NTLM TlRM"
        );
    }

    #[test]
    fn non_ascii_values_never_panic() {
        for v in [
            "Basic réalm=\"é\"",
            "é",
            "NTLM é=",
            "\"",
            "a=\"\\",
            "Basic realm=é,",
        ] {
            let _ = parse_challenges(AuthHeaderName::WwwAuthenticate, v);
            let _ = parse_credentials(AuthHeaderName::Authorization, v, false);
            let _ = displayable_credentials_value(v, false);
        }
    }
}
