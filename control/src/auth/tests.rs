//! Tests of the whole authentication flow against a real store in a scratch directory.

use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::*;
use crate::store::testdir::TestDir;

fn store(t: &TestDir) -> Arc<Store> {
    Arc::new(Store::open(t.path()).unwrap())
}

fn basic(user: &str, pass: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{pass}")))
}

fn with_auth(h: &str) -> Credentials<'_> {
    Credentials {
        authorization: Some(h),
        ..Default::default()
    }
}

fn with_cookie(h: &str) -> Credentials<'_> {
    Credentials {
        cookie_header: Some(h),
        ..Default::default()
    }
}

fn with_query(q: &str) -> Credentials<'_> {
    Credentials {
        query: q,
        ..Default::default()
    }
}

fn role_of(auth: &Auth, c: &Credentials<'_>) -> Result<Role, AuthError> {
    auth.authenticate(c).map(|a| a.principal.role)
}

fn assert_refused(auth: &Auth, c: &Credentials<'_>, missing: bool) {
    match auth.authenticate(c) {
        Err(AuthError::Missing) if missing => {}
        Err(AuthError::Invalid) if !missing => {}
        other => panic!(
            "{c:?}: expected {}, got {other:?}",
            if missing { "Missing" } else { "Invalid" }
        ),
    }
}

#[test]
fn auth_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Auth>();
}

#[test]
fn generated_password_file_is_private_and_works() {
    let t = TestDir::new("auth-gen");
    let s = store(&t);
    let (auth, file) = Auth::init(s.clone(), t.path(), "admin", None).unwrap();
    let file = file.expect("a password was generated");
    assert_eq!(file, t.path().join(ADMIN_PASSWORD_FILE));
    assert_eq!(
        fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let pw = fs::read_to_string(&file).unwrap().trim_end().to_string();
    assert!(pw.len() >= 20, "{pw}");
    let stored = s.setting(ADMIN_HASH_SETTING).unwrap().unwrap();
    assert!(stored.starts_with("$argon2id$") && !stored.contains(&pw));

    let ok = auth.authenticate(&with_auth(&basic("admin", &pw))).unwrap();
    assert_eq!(
        ok.principal,
        Principal {
            role: Role::Admin,
            name: "admin".into()
        }
    );
    assert!(ok.new_session.is_some());

    // A restart without a configured password keeps the stored one (and the file).
    drop(auth);
    let (auth, again) = Auth::init(s.clone(), t.path(), "admin", None).unwrap();
    assert_eq!(again, None);
    assert_eq!(s.setting(ADMIN_HASH_SETTING).unwrap().unwrap(), stored);
    assert!(file.exists());
    assert_eq!(
        role_of(&auth, &with_auth(&basic("admin", &pw))).unwrap(),
        Role::Admin
    );
}

#[test]
fn configured_password_works_and_replaces_the_generated_one() {
    let t = TestDir::new("auth-config");
    let s = store(&t);
    let (_, file) = Auth::init(s.clone(), t.path(), "admin", None).unwrap();
    let file = file.unwrap();
    let generated = fs::read_to_string(&file).unwrap().trim_end().to_string();

    let (auth, none) = Auth::init(s.clone(), t.path(), "admin", Some("s3cret pass")).unwrap();
    assert_eq!(none, None);
    assert!(
        !file.exists(),
        "the stale generated password file is removed"
    );
    assert_eq!(
        role_of(&auth, &with_auth(&basic("admin", "s3cret pass"))).unwrap(),
        Role::Admin
    );
    assert_refused(&auth, &with_auth(&basic("admin", &generated)), false);

    // The same password again keeps the stored hash; another one replaces it.
    let h1 = s.setting(ADMIN_HASH_SETTING).unwrap().unwrap();
    Auth::init(s.clone(), t.path(), "admin", Some("s3cret pass")).unwrap();
    assert_eq!(s.setting(ADMIN_HASH_SETTING).unwrap().unwrap(), h1);
    let (auth, _) = Auth::init(s.clone(), t.path(), "root", Some("other")).unwrap();
    assert_ne!(s.setting(ADMIN_HASH_SETTING).unwrap().unwrap(), h1);
    assert_refused(&auth, &with_auth(&basic("root", "s3cret pass")), false);
    assert_refused(&auth, &with_auth(&basic("admin", "other")), false);
    let ok = auth
        .authenticate(&with_auth(&basic("root", "other")))
        .unwrap();
    assert_eq!(ok.principal.name, "root");

    // And without a configured password on the next start, the configured one stays.
    let (auth, none) = Auth::init(s.clone(), t.path(), "root", None).unwrap();
    assert_eq!(none, None);
    assert_eq!(
        role_of(&auth, &with_auth(&basic("root", "other"))).unwrap(),
        Role::Admin
    );

    for (user, pw) in [
        ("admin", Some("")),
        ("", Some("x")),
        ("a:b", Some("x")),
        ("a\nb", None),
    ] {
        assert!(
            matches!(
                Auth::init(s.clone(), t.path(), user, pw),
                Err(AuthError::BadRequest(_))
            ),
            "{user:?} {pw:?}"
        );
    }
}

#[test]
fn bad_credentials_are_refused() {
    let t = TestDir::new("auth-bad");
    let (auth, _) = Auth::init(store(&t), t.path(), "admin", Some("pw")).unwrap();
    let b64 = |s: &str| format!("Basic {}", STANDARD.encode(s));
    // Nothing offered.
    assert_refused(&auth, &Credentials::default(), true);
    assert_refused(&auth, &with_auth(""), true);
    assert_refused(&auth, &with_auth("   "), true);
    assert_refused(&auth, &with_cookie(""), true);
    assert_refused(&auth, &with_cookie("other=1; KISMET="), true);
    assert_refused(&auth, &with_cookie("KISMET=\"\""), true);
    assert_refused(&auth, &with_query("KISMET=&a=b"), true);
    assert_refused(&auth, &with_query("kismet=x"), true);
    // Offered and wrong.
    for h in [
        basic("admin", "wrong"),
        basic("Admin", "pw"),
        basic("nobody", "pw"),
        basic("admin", ""),
        basic("", "pw"),
        b64(":"),
        b64("adminpw"),
        b64(""),
        "Basic".into(),
        "Basic ".into(),
        "Basic !!!not base64!!!".into(),
        "Basic YWRtaW46cHc=garbage".into(),
        "Basic \u{0}\u{1}".into(),
        "Bearer YWRtaW46cHc=".into(),
        "YWRtaW46cHc=".into(),
        "Digest username=\"admin\"".into(),
    ] {
        assert_refused(&auth, &with_auth(&h), false);
    }
    assert_refused(&auth, &with_cookie("KISMET=nope"), false);
    assert_refused(&auth, &with_cookie("KISMET=YWRtaW46cHc="), false);
    assert_refused(&auth, &with_query("KISMET=nope"), false);
    assert_eq!(auth.session_count(), 0);
    // The right one, for contrast (padding optional, scheme case-insensitive).
    assert_eq!(
        role_of(&auth, &with_auth("basic YWRtaW46cHc")).unwrap(),
        Role::Admin
    );
}

#[test]
fn basic_mints_a_session_usable_as_cookie_and_query() {
    let t = TestDir::new("auth-session");
    let (auth, _) = Auth::init(store(&t), t.path(), "admin", Some("pw")).unwrap();
    let token = auth
        .authenticate(&with_auth(&basic("admin", "pw")))
        .unwrap()
        .new_session
        .unwrap();
    assert!(token.len() >= 43);
    assert_eq!(auth.session_count(), 1);

    let cookie = format!("a=b; KISMET={token}; c=d");
    let ok = auth.authenticate(&with_cookie(&cookie)).unwrap();
    assert_eq!((ok.principal.role, ok.new_session), (Role::Admin, None));
    let query = format!("x=1&KISMET={token}");
    assert_eq!(role_of(&auth, &with_query(&query)).unwrap(), Role::Admin);
    // Percent-encoded in the query.
    let enc: String = token.bytes().map(|b| format!("%{b:02X}")).collect();
    assert_eq!(
        role_of(&auth, &with_query(&format!("KISMET={enc}"))).unwrap(),
        Role::Admin
    );
    // A stale cookie next to the live one.
    assert_eq!(
        role_of(&auth, &with_cookie(&format!("KISMET=old; KISMET={token}"))).unwrap(),
        Role::Admin
    );

    // The query variable is ignored when there is a Cookie header, even without KISMET in it.
    let c = Credentials {
        cookie_header: Some("other=1"),
        authorization: None,
        query: &query,
    };
    assert_refused(&auth, &c, true);
    let c = Credentials {
        cookie_header: Some("KISMET=bad"),
        authorization: None,
        query: &query,
    };
    assert_refused(&auth, &c, false);
    // A bad cookie falls through to a good Basic; a good cookie wins without a new session.
    let h = basic("admin", "pw");
    let c = Credentials {
        cookie_header: Some("KISMET=bad"),
        authorization: Some(&h),
        query: "",
    };
    assert!(auth.authenticate(&c).unwrap().new_session.is_some());
    let c = Credentials {
        cookie_header: Some(&cookie),
        authorization: Some("Basic garbage"),
        query: "",
    };
    assert_eq!(auth.authenticate(&c).unwrap().new_session, None);

    // Basic again within the cache window: the same session, no new one.
    let again = auth
        .authenticate(&with_auth(&h))
        .unwrap()
        .new_session
        .unwrap();
    assert_eq!(again, token);
    assert_eq!(auth.session_count(), 1);
}

#[test]
fn sessions_expire() {
    let t = TestDir::new("auth-session-ttl");
    let (auth, _) = Auth::init(store(&t), t.path(), "admin", Some("pw")).unwrap();
    const TTL: Duration = Duration::from_secs(2);
    let auth = auth.with_session_ttl(TTL);
    let h = basic("admin", "pw");
    // The session expires no earlier than TTL after `before`: while less than that has
    // passed it must be accepted (a machine too loaded to check in time skips that half).
    let before = std::time::Instant::now();
    let token = auth
        .authenticate(&with_auth(&h))
        .unwrap()
        .new_session
        .unwrap();
    let cookie = format!("KISMET={token}");
    let accepted = auth.authenticate(&with_cookie(&cookie)).is_ok();
    assert!(
        accepted || before.elapsed() >= TTL,
        "a fresh session was refused"
    );
    // It was minted before now, so TTL from now it has expired: refused and forgotten.
    std::thread::sleep(TTL + Duration::from_millis(50));
    assert_refused(&auth, &with_cookie(&cookie), false);
    assert_eq!(auth.session_count(), 0);
    // Basic still works and, its cached session being gone, mints a fresh one.
    let fresh = auth
        .authenticate(&with_auth(&h))
        .unwrap()
        .new_session
        .unwrap();
    assert_ne!(fresh, token);
    assert_eq!(auth.session_count(), 1);
}

#[test]
fn api_keys_carry_their_roles_and_survive_restart() {
    let t = TestDir::new("auth-keys");
    let s = store(&t);
    let (auth, _) = Auth::init(s.clone(), t.path(), "admin", Some("pw")).unwrap();
    let mut tokens = Vec::new();
    for (name, role) in [
        ("ro", Role::Readonly),
        ("scan", Role::ScanReport),
        ("adm", Role::Admin),
    ] {
        let token = auth.generate_key(name, role, 0).unwrap();
        assert!(token.len() >= 43);
        let ok = auth
            .authenticate(&with_cookie(&format!("KISMET={token}")))
            .unwrap();
        assert_eq!(
            ok.principal,
            Principal {
                role,
                name: name.into()
            }
        );
        assert_eq!(ok.new_session, None);
        assert_eq!(
            role_of(&auth, &with_query(&format!("KISMET={token}"))).unwrap(),
            role
        );
        tokens.push((token, role));
    }
    assert_eq!(auth.session_count(), 0, "API keys are not sessions");
    match auth.generate_key("ro", Role::Admin, 0) {
        Err(AuthError::Conflict(m)) => assert_eq!(m, "an API key named ro exists"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        auth.generate_key("", Role::Admin, 0),
        Err(AuthError::BadRequest(_))
    ));
    assert!(matches!(
        auth.generate_key(&"n".repeat(65), Role::Admin, 0),
        Err(AuthError::BadRequest(_))
    ));
    assert!(matches!(
        auth.generate_key("x", Role::Admin, u64::MAX),
        Err(AuthError::BadRequest(_))
    ));
    assert_eq!(s.api_keys().unwrap().len(), 3);

    // Stored only as hashes; reloaded at init.
    for r in s.api_keys().unwrap() {
        assert!(tokens.iter().all(|(tok, _)| !r.hash.contains(tok.as_str())));
        assert_eq!(r.hash.len(), 64);
    }
    drop(auth);
    let (auth, _) = Auth::init(s, t.path(), "admin", Some("pw")).unwrap();
    for (token, role) in &tokens {
        assert_eq!(
            role_of(&auth, &with_cookie(&format!("KISMET={token}"))).unwrap(),
            *role
        );
    }
}

#[test]
fn expired_key_is_rejected() {
    let t = TestDir::new("auth-expire");
    let (auth, _) = Auth::init(store(&t), t.path(), "admin", Some("pw")).unwrap();
    let short = auth.generate_key("short", Role::Readonly, 1).unwrap();
    let long = auth.generate_key("long", Role::Readonly, 3600).unwrap();
    let info = auth.list_keys();
    assert_eq!(
        info.iter()
            .find(|k| k.name == "short")
            .unwrap()
            .expires
            .map(|e| e - now_unix() <= 1),
        Some(true)
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_refused(&auth, &with_cookie(&format!("KISMET={short}")), false);
    assert_refused(&auth, &with_query(&format!("KISMET={short}")), false);
    assert_eq!(
        role_of(&auth, &with_cookie(&format!("KISMET={long}"))).unwrap(),
        Role::Readonly
    );
    let info = auth.list_keys();
    assert!(info.iter().find(|k| k.name == "short").unwrap().expired);
    assert!(!info.iter().find(|k| k.name == "long").unwrap().expired);
}

#[test]
fn revoked_key_is_rejected_and_sessions_survive() {
    let t = TestDir::new("auth-revoke");
    let s = store(&t);
    let (auth, _) = Auth::init(s.clone(), t.path(), "admin", Some("pw")).unwrap();
    let session = auth
        .authenticate(&with_auth(&basic("admin", "pw")))
        .unwrap()
        .new_session
        .unwrap();
    let token = auth.generate_key("gone", Role::Admin, 0).unwrap();
    let keep = auth.generate_key("kept", Role::ScanReport, 0).unwrap();
    assert!(auth.revoke_key("gone").unwrap());
    assert!(!auth.revoke_key("gone").unwrap());
    assert!(!auth.revoke_key("never").unwrap());
    assert_refused(&auth, &with_cookie(&format!("KISMET={token}")), false);
    assert_eq!(
        role_of(&auth, &with_cookie(&format!("KISMET={keep}"))).unwrap(),
        Role::ScanReport
    );
    assert_eq!(
        role_of(&auth, &with_cookie(&format!("KISMET={session}"))).unwrap(),
        Role::Admin
    );
    assert_eq!(s.api_keys().unwrap().len(), 1);
    // The name is free again, with a new token.
    let again = auth.generate_key("gone", Role::Readonly, 0).unwrap();
    assert_ne!(again, token);
    assert_refused(&auth, &with_cookie(&format!("KISMET={token}")), false);
    // Revocation is durable.
    drop(auth);
    let (auth, _) = Auth::init(s, t.path(), "admin", Some("pw")).unwrap();
    assert_refused(&auth, &with_cookie(&format!("KISMET={token}")), false);
    assert_eq!(
        role_of(&auth, &with_cookie(&format!("KISMET={again}"))).unwrap(),
        Role::Readonly
    );
}

#[test]
fn list_never_shows_secrets() {
    let t = TestDir::new("auth-list");
    let s = store(&t);
    let (auth, _) = Auth::init(s.clone(), t.path(), "admin", Some("pw")).unwrap();
    let a = auth.generate_key("a", Role::Readonly, 0).unwrap();
    let b = auth.generate_key("b", Role::ScanReport, 60).unwrap();
    let list = auth.list_keys();
    assert_eq!(
        list.iter().map(|k| k.name.as_str()).collect::<Vec<_>>(),
        ["a", "b"]
    );
    assert_eq!(list[0].role, Role::Readonly);
    assert_eq!(list[0].expires, None);
    assert_eq!(list[1].expires, Some(list[1].created + 60));
    let json = serde_json::to_string(&list).unwrap();
    for secret in [a, b] {
        assert!(!json.contains(&secret));
    }
    for r in s.api_keys().unwrap() {
        assert!(!json.contains(&r.hash));
    }
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let mut keys: Vec<&String> = v[1].as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["created", "expired", "expires", "name", "role"]);
    assert_eq!(v[1]["role"], "scanreport");
}

#[test]
fn concurrent_authentication_and_key_changes() {
    let t = TestDir::new("auth-threads");
    let (auth, _) = Auth::init(store(&t), t.path(), "admin", Some("pw")).unwrap();
    let auth = Arc::new(auth);
    let token = auth.generate_key("steady", Role::Readonly, 0).unwrap();
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let auth = auth.clone();
            let cookie = format!("KISMET={token}");
            std::thread::spawn(move || {
                for _ in 0..2000 {
                    assert_eq!(
                        role_of(&auth, &with_cookie(&cookie)).unwrap(),
                        Role::Readonly
                    );
                }
            })
        })
        .collect();
    for i in 0..20 {
        let name = format!("churn{i}");
        let tok = auth.generate_key(&name, Role::Admin, 0).unwrap();
        assert_eq!(
            role_of(&auth, &with_cookie(&format!("KISMET={tok}"))).unwrap(),
            Role::Admin
        );
        assert!(auth.revoke_key(&name).unwrap());
    }
    for r in readers {
        r.join().unwrap();
    }
    assert_eq!(auth.list_keys().len(), 1);
}

#[test]
fn debug_output_hides_secrets() {
    let t = TestDir::new("auth-debug");
    let (auth, _) = Auth::init(store(&t), t.path(), "admin", Some("pw")).unwrap();
    let h = basic("admin", "pw");
    let c = Credentials {
        cookie_header: Some("KISMET=abc"),
        authorization: Some(&h),
        query: "KISMET=def",
    };
    let ok = auth.authenticate(&with_auth(&h)).unwrap();
    let token = ok.new_session.clone().unwrap();
    let text = format!("{c:?} {ok:?} {auth:?}");
    for secret in ["abc", "def", h.as_str(), token.as_str(), "$argon2"] {
        assert!(!text.contains(secret), "{text}");
    }
}

#[test]
fn unreadable_stored_hash_needs_a_new_password() {
    let t = TestDir::new("auth-badhash");
    let s = store(&t);
    s.set_setting(ADMIN_HASH_SETTING, "garbage").unwrap();
    let e = Auth::init(s.clone(), t.path(), "admin", None).unwrap_err();
    assert!(e.to_string().contains("AIRSIFT_ADMIN_PASSWORD"), "{e}");
    let (auth, _) = Auth::init(s, t.path(), "admin", Some("new")).unwrap();
    assert_eq!(
        role_of(&auth, &with_auth(&basic("admin", "new"))).unwrap(),
        Role::Admin
    );
}
