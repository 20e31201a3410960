"""Names vulture cannot see used: called by a framework, a template, a tool or only by tests.

tests/test_dead_code.py hands this file to vulture beside our packages; it is parsed, never run. Each group
says who calls the names; a name that nothing in the list's reason calls any more belongs deleted, not here.
"""

# ruff: noqa: B018  (each line names a used attribute for vulture; it is never run)
_ = object  # vulture only reads the attribute names below

# authlib calls these on our client, token and grant classes (web/api/oauth_server.py).
_.get_client_id
_.get_default_redirect_uri
_.get_allowed_scope
_.check_redirect_uri
_.check_client_secret
_.check_endpoint_auth_method
_.check_response_type
_.check_grant_type
_.get_redirect_uri
_.get_scope
_.check_client
_.get_expires_in
_.is_expired
_.is_revoked
_.query_client
_.save_token
_.create_oauth2_request
_.handle_response
_.send_signal
_.save_authorization_code
_.query_authorization_code
_.delete_authorization_code
_.authenticate_user
_.authenticate_refresh_token
_.revoke_old_credential
_.query_token
_.revoke_token

# SQLAlchemy's async result calls this on our one-hop SQLite cursor (cara_fed/db_sqlite.py).
_._async_soft_close

# SQLAlchemy calls these on our column types (cara_fed/db.py TypeDecorators).
_.process_bind_param
_.process_result_value

# huey's Consumer calls it on start (cara_fed_run/worker.py QuietConsumer leaves signals to the web server).
_._set_signal_handlers

# Jinja templates read it (web/templates/_evidence.html, review_queue.html).
_.not_applicable

# The Makefile's config-example target writes config.example.toml with it.
_.example_toml

# README.md's "new migration" step runs it.
_.make_revision

# The bench measures it against its plain-row replacement (bench/feed.py).
_.home_feed

# Tests read these to check the whole set: every task and event is registered with one subscriber list
# (tests/test_architecture.py); the password pool's bound (tests/web/test_password_pool.py).
_.all_tasks
_.all_events
_.subscriptions
_.in_flight

# The bovine-based test peers install our shipped JSON-LD contexts into bovine with it (tests/federation).
_.install_for_bovine

# Measurement hooks the protection tests call: exact int8 arithmetic for CPU-independent cloak figures, the
# watermark's per-bit match counts and the U channel it is embedded in.
_.set_int8_exact
_.match_counts
_.u_channel
