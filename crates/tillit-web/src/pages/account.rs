//! Sign-in and everything about one's own account: first-run setup, password and TOTP sign-in,
//! sign-out (here or everywhere), password change, reset by email link, invitations, and
//! two-factor setup with recovery codes.

use std::collections::HashMap;
use std::net::SocketAddr;

use askama::Template;
use axum::Extension;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use tracing::{error, warn};

use tillit_core::accounts::{AuthError, SESSION_TTL, TotpSetup};

use super::{Nav, client, field, form, redirect_with_cookie, render, session_cookie};
use crate::AppState;
use crate::auth::Caller;
use crate::i18n::{Lang, Texts};

#[derive(Template)]
#[template(path = "setup.html")]
struct Setup {
    title: &'static str,
    nav: Nav,
    narrow: bool,
    error: Option<String>,
    email: String,
}

#[derive(Template)]
#[template(path = "login.html")]
struct Login {
    title: &'static str,
    nav: Nav,
    narrow: bool,
    notice: Option<String>,
    error: Option<String>,
    next: String,
    email: String,
}

#[derive(Template)]
#[template(path = "login_2fa.html")]
struct SecondFactor {
    title: &'static str,
    nav: Nav,
    narrow: bool,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "account.html")]
struct Account {
    title: &'static str,
    nav: Nav,
    narrow: bool,
    notice: Option<String>,
    error: Option<String>,
    must_set_up: bool,
    email: String,
    roles: Vec<String>,
    totp: Option<TotpSetup>,
    recovery_codes: Vec<String>,
    two_factor: bool,
}

/// A one-field form: an email (ask for a reset link) or a password (new, or a shared link's).
#[derive(Template)]
#[template(path = "password_form.html")]
pub(super) struct PasswordForm<'a> {
    pub title: &'a str,
    pub nav: Nav,
    pub narrow: bool,
    pub heading: &'a str,
    pub error: Option<String>,
    pub action: String,
    pub ask_email: bool,
    pub label: &'a str,
    pub new_password: bool,
    pub button: &'a str,
}

/// The status for an account error, and the message to show (store failures are logged and
/// shown as a generic message).
fn failure(e: &AuthError, t: &Texts) -> (StatusCode, String) {
    match e {
        AuthError::InvalidCredentials => (StatusCode::UNAUTHORIZED, t.err_credentials.into()),
        AuthError::InvalidCode => (StatusCode::UNAUTHORIZED, t.err_code.into()),
        AuthError::InvalidToken => (StatusCode::BAD_REQUEST, t.err_token.into()),
        AuthError::Throttled { retry_after } => {
            (StatusCode::TOO_MANY_REQUESTS, format!("{} {retry_after}", t.err_throttled))
        }
        // Validation details (password length…) are written by the domain, in English.
        AuthError::Invalid(_) => (StatusCode::BAD_REQUEST, e.to_string()),
        AuthError::Conflict(_) => (StatusCode::CONFLICT, e.to_string()),
        AuthError::NotFound(_) => (StatusCode::NOT_FOUND, e.to_string()),
        AuthError::Store(detail) => {
            error!(error = %detail, "account operation failed");
            (StatusCode::INTERNAL_SERVER_ERROR, t.err_internal.into())
        }
    }
}

/// Adds `Retry-After` to a throttled answer.
fn with_retry(mut res: Response, e: &AuthError) -> Response {
    if let AuthError::Throttled { retry_after } = e
        && let Ok(v) = HeaderValue::from_str(&retry_after.to_string())
    {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

/// Only local paths are followed after sign-in (no open redirect).
fn local_path(next: &str) -> &str {
    if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') { next } else { "/" }
}

pub async fn setup_form(State(state): State<AppState>, Extension(caller): Extension<Caller>) -> Response {
    let nav = Nav::in_lang(caller.lang);
    match state.accounts.needs_setup().await {
        Ok(true) => {
            render(StatusCode::OK, &Setup { title: nav.t.set_up, nav, narrow: true, error: None, email: String::new() })
        }
        _ => Redirect::to("/login").into_response(),
    }
}

pub async fn setup(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let f = form(&body);
    let (email, password) = (field(&f, "email"), field(&f, "password"));
    match state.accounts.setup_owner(email, password).await {
        Ok(_) => match state.accounts.sign_in(email, password, &client(&state, peer, &headers)).await {
            Ok(s) => redirect_with_cookie("/", session_cookie(&state, &s.token, SESSION_TTL)),
            Err(_) => Redirect::to("/login").into_response(),
        },
        Err(e) => {
            if !state.accounts.needs_setup().await.unwrap_or(false) {
                return Redirect::to("/login").into_response();
            }
            let nav = Nav::in_lang(caller.lang);
            let (status, msg) = failure(&e, nav.t);
            let page = Setup { title: nav.t.set_up, nav, narrow: true, error: Some(msg), email: email.to_owned() };
            render(status, &page)
        }
    }
}

pub async fn login_form(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if caller.user.is_some() {
        return Redirect::to("/").into_response();
    }
    if state.accounts.needs_setup().await.unwrap_or(false) {
        return Redirect::to("/setup").into_response();
    }
    let nav = Nav::in_lang(caller.lang);
    let notice = match q.get("done").map(String::as_str) {
        Some("reset") => Some(nav.t.reset_done.to_owned()),
        Some("everywhere") => Some(nav.t.signed_out_everywhere.to_owned()),
        _ => None,
    };
    let page = Login {
        title: nav.t.sign_in,
        nav,
        narrow: true,
        notice,
        error: None,
        next: local_path(q.get("next").map(String::as_str).unwrap_or("/")).to_owned(),
        email: String::new(),
    };
    render(StatusCode::OK, &page)
}

pub async fn login(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let f = form(&body);
    let (email, password, next) = (field(&f, "email"), field(&f, "password"), local_path(field(&f, "next")));
    match state.accounts.sign_in(email, password, &client(&state, peer, &headers)).await {
        Ok(s) if s.second_factor_due => redirect_with_cookie(
            "/login/2fa",
            session_cookie(&state, &s.token, tillit_core::accounts::SECOND_FACTOR_TTL),
        ),
        Ok(s) => redirect_with_cookie(next, session_cookie(&state, &s.token, SESSION_TTL)),
        Err(e) => {
            let nav = Nav::in_lang(caller.lang);
            let (status, msg) = failure(&e, nav.t);
            let page = Login {
                title: nav.t.sign_in,
                nav,
                narrow: true,
                notice: None,
                error: Some(msg),
                next: next.to_owned(),
                email: email.to_owned(),
            };
            with_retry(render(status, &page), &e)
        }
    }
}

pub async fn second_factor_form(Extension(caller): Extension<Caller>) -> Response {
    if !caller.second_factor_due {
        return Redirect::to("/login").into_response();
    }
    let nav = Nav::in_lang(caller.lang);
    render(StatusCode::OK, &SecondFactor { title: nav.t.two_factor, nav, narrow: true, error: None })
}

pub async fn second_factor(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(pending) = caller.session_token.filter(|_| caller.second_factor_due) else {
        return Redirect::to("/login").into_response();
    };
    let f = form(&body);
    match state.accounts.second_factor(&pending, field(&f, "code"), &client(&state, peer, &headers)).await {
        Ok(s) => redirect_with_cookie("/", session_cookie(&state, &s.token, SESSION_TTL)),
        Err(e) => {
            let nav = Nav::in_lang(caller.lang);
            let (status, msg) = failure(&e, nav.t);
            let page = SecondFactor { title: nav.t.two_factor, nav, narrow: true, error: Some(msg) };
            with_retry(render(status, &page), &e)
        }
    }
}

pub async fn logout(State(state): State<AppState>, Extension(caller): Extension<Caller>) -> Response {
    if let Some(token) = &caller.session_token
        && let Err(e) = state.accounts.sign_out(token).await
    {
        error!(error = %e, "sign-out failed");
    }
    redirect_with_cookie("/login", session_cookie(&state, "", 0))
}

pub async fn logout_everywhere(State(state): State<AppState>, Extension(caller): Extension<Caller>) -> Response {
    let Some(user) = &caller.user else { return Redirect::to("/login").into_response() };
    if let Err(e) = state.accounts.sign_out_everywhere(user).await {
        let (status, msg) = failure(&e, Texts::of(caller.lang));
        return super::error_page(status, &msg);
    }
    redirect_with_cookie("/login?done=everywhere", session_cookie(&state, "", 0))
}

fn account(caller: &Caller) -> Account {
    let user = caller.user.as_ref();
    Account {
        title: Texts::of(caller.lang).your_account,
        nav: Nav::of(caller),
        narrow: false,
        notice: None,
        error: None,
        must_set_up: caller.must_set_up_two_factor,
        email: user.map(|u| u.email.clone()).unwrap_or_default(),
        roles: user
            .map(|u| {
                u.roles
                    .iter()
                    .map(|r| match r.site_id {
                        Some(id) => format!("{} of site #{id}", r.role),
                        None => format!("{} of every site", r.role),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        totp: None,
        recovery_codes: Vec::new(),
        two_factor: user.is_some_and(|u| u.two_factor),
    }
}

/// The account page again, with the error that stopped the action.
fn refused_on(mut page: Account, e: &AuthError) -> Response {
    let (status, msg) = failure(e, page.nav.t);
    page.error = Some(msg);
    render(status, &page)
}

pub async fn page(Extension(caller): Extension<Caller>) -> Response {
    render(StatusCode::OK, &account(&caller))
}

pub async fn change_password(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> Response {
    let Some(user) = &caller.user else { return Redirect::to("/login").into_response() };
    let f = form(&body);
    let mut page = account(&caller);
    match state.accounts.change_password(user, field(&f, "current"), field(&f, "new")).await {
        Ok(token) => {
            page.notice = Some(page.nav.t.password_changed.into());
            let mut res = render(StatusCode::OK, &page);
            res.headers_mut().append(header::SET_COOKIE, session_cookie(&state, &token, SESSION_TTL));
            res
        }
        Err(e) => refused_on(page, &e),
    }
}

pub async fn totp_setup(State(state): State<AppState>, Extension(caller): Extension<Caller>) -> Response {
    let Some(user) = &caller.user else { return Redirect::to("/login").into_response() };
    let mut page = account(&caller);
    match state.accounts.begin_totp(user).await {
        Ok(setup) => page.totp = Some(setup),
        Err(e) => page.error = Some(failure(&e, page.nav.t).1),
    }
    render(StatusCode::OK, &page)
}

pub async fn totp_confirm(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> Response {
    let Some(user) = &caller.user else { return Redirect::to("/login").into_response() };
    let f = form(&body);
    let mut page = account(&caller);
    match state.accounts.confirm_totp(user, field(&f, "code")).await {
        Ok(codes) => {
            page.recovery_codes = codes;
            page.two_factor = true;
            page.must_set_up = false;
            render(StatusCode::OK, &page)
        }
        Err(e) => {
            let (status, msg) = failure(&e, page.nav.t);
            page.error = Some(format!("{msg}. {}", page.nav.t.start_setup_again));
            render(status, &page)
        }
    }
}

pub async fn totp_disable(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> Response {
    let Some(user) = &caller.user else { return Redirect::to("/login").into_response() };
    let mut page = account(&caller);
    if state.accounts.two_factor_required().await.unwrap_or(true) {
        page.error = Some(page.nav.t.two_factor_required_on.into());
        return render(StatusCode::FORBIDDEN, &page);
    }
    let f = form(&body);
    match state.accounts.disable_totp(user, field(&f, "password")).await {
        Ok(()) => {
            page.two_factor = false;
            page.notice = Some(page.nav.t.two_factor_now_off.into());
            render(StatusCode::OK, &page)
        }
        Err(e) => refused_on(page, &e),
    }
}

/// The one-field pages of the account flows, in `lang`.
#[derive(Clone, Copy)]
enum Flow {
    Forgot,
    Reset,
    Invite,
}

fn password_page(lang: Lang, flow: Flow, action: String, error: Option<String>) -> PasswordForm<'static> {
    let nav = Nav::in_lang(lang);
    let t = nav.t;
    let (heading, button) = match flow {
        Flow::Forgot => (t.reset_password, t.send_link),
        Flow::Reset => (t.choose_new_password, t.change_password),
        Flow::Invite => (t.join_tillit, t.create_account),
    };
    PasswordForm {
        title: heading,
        nav,
        narrow: true,
        heading,
        error,
        action,
        ask_email: matches!(flow, Flow::Forgot),
        label: t.new_password,
        new_password: true,
        button,
    }
}

pub async fn forgot_form(Extension(caller): Extension<Caller>) -> Response {
    render(StatusCode::OK, &password_page(caller.lang, Flow::Forgot, "/password/forgot".into(), None))
}

pub async fn forgot(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let f = form(&body);
    let email = field(&f, "email").to_owned();
    let t = Texts::of(caller.lang);
    let Some(mailer) = state.mailer.clone() else {
        return super::message_page_in(
            caller.lang,
            StatusCode::SERVICE_UNAVAILABLE,
            t.email_not_set_up,
            t.email_not_set_up_help,
            Some(("/login", t.back_to_sign_in)),
        );
    };
    match state.accounts.request_reset(&email, &client(&state, peer, &headers)).await {
        Ok(Some((token, user))) => {
            let link = format!("{}/password/reset/{token}", state.config.public_url.trim_end_matches('/'));
            // Sent in the background, so the answer takes as long whether or not the account exists.
            tokio::spawn(async move {
                let text = format!(
                    "Someone (hopefully you) asked to reset the password of your Tillit account.\n\n\
                     Choose a new password here; the link works once, for one hour:\n{link}\n\n\
                     If you did not ask for this, ignore this email: your password stays as it is.\n"
                );
                if let Err(e) = mailer.send(&user.email, "Reset your Tillit password", text).await {
                    warn!(error = %e, "password reset email not sent");
                }
            });
        }
        Ok(None) => {}
        Err(e @ AuthError::Throttled { .. }) => {
            let (status, msg) = failure(&e, t);
            return with_retry(super::error_page(status, &msg), &e);
        }
        Err(e) => {
            let (status, msg) = failure(&e, t);
            return super::error_page(status, &msg);
        }
    }
    super::message_page_in(
        caller.lang,
        StatusCode::OK,
        t.check_email,
        t.check_email_help,
        Some(("/login", t.back_to_sign_in)),
    )
}

pub async fn reset_form(Extension(caller): Extension<Caller>, Path(token): Path<String>) -> Response {
    render(StatusCode::OK, &password_page(caller.lang, Flow::Reset, format!("/password/reset/{token}"), None))
}

pub async fn reset(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(token): Path<String>,
    body: Bytes,
) -> Response {
    let f = form(&body);
    match state.accounts.reset_password(&token, field(&f, "password")).await {
        Ok(_) => Redirect::to("/login?done=reset").into_response(),
        Err(e) => {
            let (status, msg) = failure(&e, Texts::of(caller.lang));
            render(status, &password_page(caller.lang, Flow::Reset, format!("/password/reset/{token}"), Some(msg)))
        }
    }
}

pub async fn invite_form(Extension(caller): Extension<Caller>, Path(token): Path<String>) -> Response {
    render(StatusCode::OK, &password_page(caller.lang, Flow::Invite, format!("/invite/{token}"), None))
}

pub async fn accept_invite(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(token): Path<String>,
    body: Bytes,
) -> Response {
    let f = form(&body);
    let password = field(&f, "password");
    match state.accounts.accept_invite(&token, password).await {
        Ok(user) => match state.accounts.sign_in(&user.email, password, &client(&state, peer, &headers)).await {
            Ok(s) => redirect_with_cookie("/", session_cookie(&state, &s.token, SESSION_TTL)),
            Err(_) => Redirect::to("/login").into_response(),
        },
        Err(e) => {
            let (status, msg) = failure(&e, Texts::of(caller.lang));
            render(status, &password_page(caller.lang, Flow::Invite, format!("/invite/{token}"), Some(msg)))
        }
    }
}
