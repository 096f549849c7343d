//! Claim validation after the signature has been verified: `exp`, `nbf`, `iat`, `aud`, `iss`,
//! required claims and the RFC 9068 `typ` check, with a bounded leeway.

use crate::authz::conditions::{DEFAULT_MAX_ACTOR_DEPTH, actor_chain};
use crate::engine::binding::Binding;
use crate::error::{ConfigError, InvalidToken};
use crate::keys::verifier::TokenKind;
use crate::limits::{DEFAULT_LEEWAY_SECS, DEFAULT_MAX_TOKEN_LEN, MAX_LEEWAY_SECS};
use crate::token::claims::numeric_date;
use crate::token::jose::TokenHeader;
use crate::token::payload::{ClaimLookup, Member};

/// What to do with the `aud` claim.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AudiencePolicy {
    /// `aud` must be present and contain one of these values (exact, case-sensitive).
    Require(Vec<String>),
    /// No audience is configured: a token that names one is refused (RFC 7519 §4.1.3). Default.
    RejectIfPresent,
    /// `aud` is not looked at (agno with `verify_audience=False`): a token minted for another
    /// service is accepted here.
    DangerousIgnore,
}

/// The claim checks applied to every verified JWT.
///
/// ```
/// use jwt_core::Validation;
/// let v = Validation::default().audience(["my-os"]).issuer(["https://idp.example"]).leeway(30)?;
/// assert_eq!(v.leeway_secs(), 30);
/// assert!(Validation::default().leeway(301).is_err());
/// # Ok::<(), jwt_core::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until it is used: keep the value each setter returns"]
pub struct Validation {
    leeway: u64,
    require_exp: bool,
    validate_nbf: bool,
    validate_iat: bool,
    audience: AudiencePolicy,
    issuers: Vec<String>,
    required: Vec<String>,
    rfc9068: bool,
    max_token_len: usize,
    max_actor_depth: usize,
    /// DPoP is on: a `cnf` with `jkt` is the engine's to check, not refused here.
    pub(crate) dpop_binding: bool,
    /// Mutual TLS is on: a `cnf` with `x5t#S256` is the engine's to check.
    pub(crate) mtls_binding: bool,
}

impl Default for Validation {
    fn default() -> Self {
        Self {
            leeway: DEFAULT_LEEWAY_SECS,
            require_exp: true,
            validate_nbf: true,
            validate_iat: true,
            audience: AudiencePolicy::RejectIfPresent,
            issuers: Vec::new(),
            required: Vec::new(),
            rfc9068: false,
            max_token_len: DEFAULT_MAX_TOKEN_LEN,
            max_actor_depth: DEFAULT_MAX_ACTOR_DEPTH,
            dpop_binding: false,
            mtls_binding: false,
        }
    }
}

impl Validation {
    /// Clock-skew allowance in seconds (default 10).
    ///
    /// # Errors
    /// [`ConfigError::LeewayOutOfRange`] above [`MAX_LEEWAY_SECS`].
    pub fn leeway(mut self, secs: u64) -> Result<Self, ConfigError> {
        if secs > MAX_LEEWAY_SECS {
            return Err(ConfigError::LeewayOutOfRange(secs));
        }
        self.leeway = secs;
        Ok(self)
    }

    /// Accepts tokens without `exp` (agno does): such a token never expires. `exp` is required
    /// by default.
    pub fn dangerous_optional_exp(mut self) -> Self {
        self.require_exp = false;
        self
    }

    /// Does not check `nbf`: a token not yet valid is accepted. Checked by default.
    pub fn dangerous_skip_nbf(mut self) -> Self {
        self.validate_nbf = false;
        self
    }

    /// Does not refuse an `iat` in the future. Refused by default.
    pub fn dangerous_skip_iat(mut self) -> Self {
        self.validate_iat = false;
        self
    }

    /// Requires `aud` to contain one of `audiences`.
    pub fn audience<I, S>(mut self, audiences: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.audience = AudiencePolicy::Require(audiences.into_iter().map(Into::into).collect());
        self
    }

    /// Sets the audience policy directly.
    pub fn audience_policy(mut self, policy: AudiencePolicy) -> Self {
        self.audience = policy;
        self
    }

    /// Requires `iss` to be a string equal to one of `issuers`.
    pub fn issuer<I, S>(mut self, issuers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.issuers = issuers.into_iter().map(Into::into).collect();
        self
    }

    /// Claims that must be present (not `null`).
    pub fn required_claims<I, S>(mut self, claims: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.required = claims.into_iter().map(Into::into).collect();
        self
    }

    /// RFC 9068 mode: `typ` must be `at+jwt` (or `application/at+jwt`, any case) and
    /// `iss exp aud sub client_id iat jti` must be present.
    pub fn rfc9068(mut self, on: bool) -> Self {
        self.rfc9068 = on;
        self
    }

    /// The maximum token length in bytes (default 8 KiB), checked before any decoding.
    ///
    /// # Errors
    /// [`ConfigError::MaxTokenLengthOutOfRange`] for 0 or more than 1 MiB.
    pub fn max_token_len(mut self, len: usize) -> Result<Self, ConfigError> {
        if len == 0 || len > 1024 * 1024 {
            return Err(ConfigError::MaxTokenLengthOutOfRange(len));
        }
        self.max_token_len = len;
        Ok(self)
    }

    /// The deepest RFC 8693 `act` chain accepted (default [`DEFAULT_MAX_ACTOR_DEPTH`]); a
    /// deeper one, or an `act` that is not an object, is refused (401). Zero refuses every
    /// delegated token.
    ///
    /// ```
    /// use jwt_core::Validation;
    /// let v = Validation::default().max_actor_depth(2);
    /// assert_eq!(v.actor_depth(), 2);
    /// ```
    pub fn max_actor_depth(mut self, depth: usize) -> Self {
        self.max_actor_depth = depth;
        self
    }

    /// The deepest `act` chain accepted.
    pub fn actor_depth(&self) -> usize {
        self.max_actor_depth
    }

    /// The configured leeway in seconds.
    pub fn leeway_secs(&self) -> u64 {
        self.leeway
    }

    /// The configured maximum token length.
    pub fn max_token_length(&self) -> usize {
        self.max_token_len
    }

    /// The configured audience policy.
    pub fn audience_settings(&self) -> &AudiencePolicy {
        &self.audience
    }

    /// The accepted issuers (empty: `iss` is not checked).
    pub fn issuer_settings(&self) -> &[String] {
        &self.issuers
    }

    /// Validates every claim rule at time `now`; returns the time claims for later re-checks
    /// (a cached token is re-checked with [`Validation::check_times`] on every hit).
    pub(crate) fn validate_at<L: ClaimLookup + ?Sized>(
        &self,
        kind: TokenKind,
        header: Option<&TokenHeader>,
        claims: &L,
        now: u64,
    ) -> Result<TimeClaims, InvalidToken> {
        // RFC 9068's `typ` is a JWT header's; an introspected token has none to check (its
        // required members still apply).
        if self.rfc9068 {
            if kind != TokenKind::Introspected {
                let typ = header.and_then(|h| h.typ.as_deref()).unwrap_or("");
                let typ = strip_prefix_ignore_case(typ, "application/").unwrap_or(typ);
                if !typ.eq_ignore_ascii_case("at+jwt") {
                    return Err(InvalidToken::WrongType);
                }
            }
            for name in ["iss", "exp", "aud", "sub", "client_id", "iat", "jti"] {
                require(claims, name)?;
            }
        }
        for name in &self.required {
            require(claims, name)?;
        }
        // A key-bound token (RFC 7800 `cnf`) needs its proof of possession: refused here
        // unless each binding's proof is configured (DPoP's `jkt`, mutual TLS's `x5t#S256`),
        // which the engine then checks against the request (a bound token never passes as a
        // plain bearer token).
        if claims.member("cnf").is_some() {
            Binding::of(&claims.tree(), self.dpop_binding, self.mtls_binding)?;
        }
        let times = TimeClaims {
            exp: numeric_date(claims, "exp")?,
            nbf: if self.validate_nbf {
                numeric_date(claims, "nbf")?
            } else {
                None
            },
            iat: if self.validate_iat {
                numeric_date(claims, "iat")?
            } else {
                None
            },
            fresh_until: None,
        };
        self.check_times(&times, now)?;
        self.check_audience(claims)?;
        if !self.issuers.is_empty() {
            match claims.member("iss").and_then(Member::as_str) {
                Some(iss) if self.issuers.iter().any(|i| *i == iss) => {}
                _ => return Err(InvalidToken::InvalidIssuer),
            }
        }
        // RFC 7519 §4.1.2: `sub` is a StringOrURI; any other type makes the token invalid.
        if claims.member("sub").is_some_and(|sub| !sub.is_string()) {
            return Err(InvalidToken::InvalidClaim("sub".into()));
        }
        // RFC 8693 §4.1: `act` is an object naming the actor, possibly nesting prior ones.
        if claims.member("act").is_some() {
            actor_chain(&claims.tree(), self.max_actor_depth)?;
        }
        Ok(times)
    }

    /// The time rules alone: `exp` (required by default), `nbf`, `iat`, with leeway.
    pub(crate) fn check_times(&self, t: &TimeClaims, now: u64) -> Result<(), InvalidToken> {
        let leeway = self.leeway as f64;
        let now = now as f64;
        match t.exp {
            // RFC 7519 §4.1.4: the current time must be before `exp`.
            Some(exp) if now >= exp + leeway => return Err(InvalidToken::Expired),
            Some(_) => {}
            None if self.require_exp => return Err(InvalidToken::MissingClaim("exp".into())),
            None => {}
        }
        if let Some(nbf) = t.nbf
            && nbf > now + leeway
        {
            return Err(InvalidToken::NotYetValid);
        }
        if let Some(iat) = t.iat
            && iat > now + leeway
        {
            return Err(InvalidToken::IssuedInFuture);
        }
        Ok(())
    }

    fn check_audience<L: ClaimLookup + ?Sized>(&self, claims: &L) -> Result<(), InvalidToken> {
        let aud = claims.member("aud");
        match &self.audience {
            AudiencePolicy::DangerousIgnore => Ok(()),
            AudiencePolicy::RejectIfPresent => match aud {
                None => Ok(()),
                Some(_) => Err(InvalidToken::InvalidAudience),
            },
            AudiencePolicy::Require(expected) => {
                let matches = |s: &str| expected.iter().any(|e| e == s);
                let ok = match aud {
                    Some(aud) if aud.is_string() => aud.as_str().is_some_and(|s| matches(&s)),
                    // A non-empty array of strings, one of them expected.
                    Some(aud) => {
                        let (mut items, mut strings, mut found) = (0, 0, false);
                        let array = aud.each_item(|item| {
                            items += 1;
                            if let Some(s) = item.as_str() {
                                strings += 1;
                                found |= matches(&s);
                            }
                        });
                        array && items > 0 && strings == items && found
                    }
                    None => false,
                };
                if ok {
                    Ok(())
                } else {
                    Err(InvalidToken::InvalidAudience)
                }
            }
        }
    }
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

fn require<L: ClaimLookup + ?Sized>(claims: &L, name: &str) -> Result<(), InvalidToken> {
    match claims.member(name) {
        Some(m) if !m.is_null() => Ok(()),
        _ => Err(InvalidToken::MissingClaim(name.to_owned())),
    }
}

/// The time claims of a validated token, kept for re-checks, and how long the verifier's
/// answer may be reused ([`crate::Verified::fresh_until`]).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct TimeClaims {
    pub(crate) exp: Option<f64>,
    pub(crate) nbf: Option<f64>,
    pub(crate) iat: Option<f64>,
    pub(crate) fresh_until: Option<u64>,
}

impl TimeClaims {
    /// Whether the verifier's answer may still be reused at `now` (else: verify again).
    pub(crate) fn is_fresh(&self, now: u64) -> bool {
        self.fresh_until.is_none_or(|until| now < until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    const NOW: u64 = 1_800_000_000;

    fn check(v: &Validation, claims: Value) -> Result<(), InvalidToken> {
        let Value::Object(map) = claims else { panic!() };
        v.validate_at(TokenKind::Jwt, None, &map, NOW).map(|_| ())
    }

    #[test]
    fn exp_edges() {
        let v = Validation::default();
        let n = NOW as i64;
        assert_eq!(
            check(&v, json!({"exp": n - 11})),
            Err(InvalidToken::Expired)
        );
        assert_eq!(
            check(&v, json!({"exp": n - 10})),
            Err(InvalidToken::Expired)
        );
        assert!(check(&v, json!({"exp": n - 9})).is_ok());
        assert!(check(&v, json!({"exp": n})).is_ok());
        assert!(check(&v, json!({"exp": n as f64 + 600.5})).is_ok());
        assert!(check(&v, json!({"exp": u64::MAX})).is_ok());
        let strict = Validation::default().leeway(0).unwrap();
        assert_eq!(
            check(&strict, json!({"exp": n})),
            Err(InvalidToken::Expired)
        );
        assert!(check(&strict, json!({"exp": n + 1})).is_ok());
        for bad in [
            json!("9999999999"),
            json!(null),
            json!(true),
            json!([1]),
            json!({}),
            json!(-1),
            json!(1e300),
            json!(1e20),
            json!(-0.5),
        ] {
            assert!(check(&v, json!({"exp": bad.clone()})).is_err(), "{bad}");
        }
    }

    #[test]
    fn exp_required_by_default() {
        assert_eq!(
            check(&Validation::default(), json!({})),
            Err(InvalidToken::MissingClaim("exp".into()))
        );
        assert!(check(&Validation::default().dangerous_optional_exp(), json!({})).is_ok());
    }

    #[test]
    fn nbf_and_iat_edges() {
        let v = Validation::default();
        let n = NOW as i64;
        let exp = n + 600;
        assert_eq!(
            check(&v, json!({"exp": exp, "nbf": n + 11})),
            Err(InvalidToken::NotYetValid)
        );
        assert!(check(&v, json!({"exp": exp, "nbf": n + 10})).is_ok());
        assert!(check(&v, json!({"exp": exp, "nbf": n})).is_ok());
        assert!(check(&v, json!({"exp": exp, "nbf": "1"})).is_err());
        assert_eq!(
            check(&v, json!({"exp": exp, "iat": n + 3600})),
            Err(InvalidToken::IssuedInFuture)
        );
        assert!(check(&v, json!({"exp": exp, "iat": "x"})).is_err());
        assert!(check(&v, json!({"exp": exp, "iat": n})).is_ok());
        let off = Validation::default()
            .dangerous_skip_nbf()
            .dangerous_skip_iat();
        assert!(check(&off, json!({"exp": exp, "nbf": n + 99, "iat": n + 99})).is_ok());
    }

    #[test]
    fn audience_rules() {
        let v = Validation::default().audience(["api"]);
        let exp = NOW + 600;
        let ok = |aud: Value| check(&v, json!({"exp": exp, "aud": aud})).is_ok();
        assert!(ok(json!("api")));
        assert!(ok(json!(["api", "x"])));
        for bad in [
            json!(["x"]),
            json!([]),
            json!("API"),
            json!("api/"),
            json!(5),
            json!([5]),
            json!({"a":1}),
            json!(["api", 5]),
            json!(null),
        ] {
            assert!(!ok(bad.clone()), "{bad}");
        }
        assert_eq!(
            check(&v, json!({"exp": exp})),
            Err(InvalidToken::InvalidAudience)
        );
        let none = Validation::default();
        assert_eq!(
            check(&none, json!({"exp": exp, "aud": "x"})),
            Err(InvalidToken::InvalidAudience)
        );
        assert!(check(&none, json!({"exp": exp})).is_ok());
        let ignore = Validation::default().audience_policy(AudiencePolicy::DangerousIgnore);
        assert!(check(&ignore, json!({"exp": exp, "aud": 5})).is_ok());
    }

    #[test]
    fn issuer_rules() {
        let v = Validation::default().issuer(["https://idp.example"]);
        let exp = NOW + 600;
        assert!(check(&v, json!({"exp": exp, "iss": "https://idp.example"})).is_ok());
        for bad in [
            json!("https://idp.example/"),
            json!("HTTPS://IDP.EXAMPLE"),
            json!("http://idp.example"),
            json!(["evil", "https://idp.example"]),
            json!(5),
        ] {
            assert_eq!(
                check(&v, json!({"exp": exp, "iss": bad})),
                Err(InvalidToken::InvalidIssuer)
            );
        }
        assert_eq!(
            check(&v, json!({"exp": exp})),
            Err(InvalidToken::InvalidIssuer)
        );
    }

    #[test]
    fn required_claims_and_rfc9068() {
        let exp = NOW + 600;
        let v = Validation::default().required_claims(["tenant"]);
        assert_eq!(
            check(&v, json!({"exp": exp})),
            Err(InvalidToken::MissingClaim("tenant".into()))
        );
        assert_eq!(
            check(&v, json!({"exp": exp, "tenant": null})),
            Err(InvalidToken::MissingClaim("tenant".into()))
        );
        assert!(check(&v, json!({"exp": exp, "tenant": "t"})).is_ok());

        let at = Validation::default().rfc9068(true).audience(["api"]);
        let claims =
            json!({"iss":"i","exp":exp,"aud":"api","sub":"s","client_id":"c","iat":NOW,"jti":"j"});
        let Value::Object(map) = claims else { panic!() };
        let header = |typ: Option<&str>| TokenHeader {
            alg: jsonwebtoken::Algorithm::RS256,
            kid: None,
            typ: typ.map(str::to_owned),
        };
        for good in [
            "at+jwt",
            "AT+JWT",
            "application/at+jwt",
            "Application/AT+jwt",
        ] {
            assert!(
                at.validate_at(TokenKind::Jwt, Some(&header(Some(good))), &map, NOW)
                    .is_ok(),
                "{good}"
            );
        }
        for bad in [
            None,
            Some("JWT"),
            Some("at+jwt "),
            Some("logout+jwt"),
            Some("dpop+jwt"),
            Some("secevent+jwt"),
        ] {
            assert_eq!(
                at.validate_at(TokenKind::Jwt, Some(&header(bad)), &map, NOW)
                    .map(|_| ()),
                Err(InvalidToken::WrongType),
                "{bad:?}"
            );
        }
        let mut missing = map.clone();
        missing.remove("jti");
        assert_eq!(
            at.validate_at(TokenKind::Jwt, Some(&header(Some("at+jwt"))), &missing, NOW)
                .map(|_| ()),
            Err(InvalidToken::MissingClaim("jti".into()))
        );
    }

    #[test]
    fn config_bounds() {
        assert!(Validation::default().leeway(300).is_ok());
        assert!(matches!(
            Validation::default().leeway(u64::MAX),
            Err(ConfigError::LeewayOutOfRange(_))
        ));
        assert!(Validation::default().max_token_len(0).is_err());
        assert!(
            Validation::default()
                .max_token_len(2 * 1024 * 1024)
                .is_err()
        );
        assert_eq!(
            Validation::default()
                .max_token_len(100)
                .unwrap()
                .max_token_length(),
            100
        );
    }
}
