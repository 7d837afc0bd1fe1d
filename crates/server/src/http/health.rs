use crate::app::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        // Alertmanager's and Prometheus' management endpoints.
        .route("/-/healthy", get(healthz))
        .route("/-/ready", get(readyz))
        .route("/-/reload", axum::routing::post(reload))
}

/// `POST /-/reload`: reads the config file again (as SIGHUP does). Like Alertmanager: 200 when
/// the new config runs, 500 with the reason when it was refused (the running config stays).
/// Needs an integration key, or a loopback client when anonymous local access is allowed.
async fn reload(
    State(s): State<AppState>,
    parts: axum::http::request::Parts,
) -> axum::response::Response {
    if let Err(e) = crate::http::alertmanager::authorize(&s, &parts).await {
        return e.into_response();
    }
    let text = [(header::CONTENT_TYPE, "text/plain; charset=utf-8")];
    match crate::reload::reload(&s).await {
        Ok(r) if r.need_restart.is_empty() => (StatusCode::OK, text, String::new()).into_response(),
        Ok(r) => (
            StatusCode::OK,
            text,
            format!(
                "config reloaded; changed settings that take effect after a restart: {}\n",
                r.need_restart.join(", ")
            ),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "config reload failed; the running config stays");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                text,
                axum::Extension(crate::http::PlainError),
                format!("failed to reload config: {e:#}\n"),
            )
                .into_response()
        }
    }
}

/// The process is up.
async fn healthz() -> impl IntoResponse {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        "{\"status\":\"ok\"}",
    )
}

/// The database answers: safe to send traffic.
async fn readyz(State(s): State<AppState>) -> impl IntoResponse {
    if s.store.ping().await {
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            "{\"status\":\"ready\"}",
        )
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "application/json")],
            "{\"status\":\"database unreachable\"}",
        )
    }
}

async fn metrics(State(s): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        s.metrics.render(),
    )
}
