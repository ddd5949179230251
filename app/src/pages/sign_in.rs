//! Signing in, and creating the first admin from the setup link.

use leptos::prelude::*;

use super::FormError;

#[component]
pub fn SignInPage(
    /// Where to go once signed in.
    next: String,
    /// The name typed before a failed attempt.
    name: String,
    error: Option<String>,
) -> impl IntoView {
    let invalid = error.is_some().then_some("true");
    view! {
        <section class="auth-card" aria-labelledby="sign-in-title">
            <h1 id="sign-in-title">"Sign in"</h1>
            <FormError error/>
            <form method="post" action="/signin" data-testid="sign-in-form">
                <input type="hidden" name="next" value=next/>
                <div class="field">
                    <label for="name">"Name"</label>
                    <input id="name" name="name" autocomplete="username" required
                        value=name aria-invalid=invalid aria-describedby="form-error"/>
                </div>
                <div class="field">
                    <label for="password">"Password"</label>
                    <input id="password" name="password" type="password"
                        autocomplete="current-password" required aria-invalid=invalid/>
                </div>
                <button class="primary" type="submit">"Sign in"</button>
            </form>
        </section>
    }
}

#[component]
pub fn SetupPage(token: String, error: Option<String>) -> impl IntoView {
    view! {
        <section class="auth-card" aria-labelledby="setup-title">
            <h1 id="setup-title">"Create the first admin"</h1>
            <p class="muted">
                "No account exists yet. The account you create here is an admin: it can add "
                "the others. This link works once."
            </p>
            <FormError error/>
            <form method="post" action="/setup" data-testid="setup-form">
                <input type="hidden" name="token" value=token/>
                <div class="field">
                    <label for="name">"Name"</label>
                    <input id="name" name="name" autocomplete="username" required/>
                </div>
                <div class="field">
                    <label for="password">"Password (at least 8 characters)"</label>
                    <input id="password" name="password" type="password" minlength="8"
                        autocomplete="new-password" required/>
                </div>
                <div class="field">
                    <label for="confirm">"Password again"</label>
                    <input id="confirm" name="confirm" type="password" minlength="8"
                        autocomplete="new-password" required/>
                </div>
                <button class="primary" type="submit">"Create the admin and sign in"</button>
            </form>
        </section>
    }
}
