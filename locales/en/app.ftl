app-title = Hangar
language = Language

nav-dashboard = Dashboard
nav-vms = Virtual machines
nav-hosts = Hosts
nav-storage = Storage
nav-networks = Networks
nav-images = Images
nav-users = Users
nav-audit = Audit log
nav-profile = Profile
nav-api-docs = API docs
nav-coming-soon = Coming soon

action-sign-in = Sign in
action-sign-out = Sign out
action-save = Save
action-create = Create
action-cancel = Cancel
action-delete = Delete
action-filter = Filter

field-username = Username
field-password = Password
field-display-name = Display name
field-email = E-mail
field-role = Role
field-status = Status
field-current-password = Current password
field-new-password = New password

role-admin = Administrator
role-operator = Operator
role-user = User
role-auditor = Auditor

status-active = Active
status-disabled = Disabled

login-subtitle = Sign in to manage your virtual machines.

dashboard-title = Dashboard
dashboard-my-quota = My quota
dashboard-recent-events = Recent activity
dashboard-all-events = All audit records

quota-title = Quota
quota-vms = VMs
quota-vcpus = vCPUs
quota-memory = Memory
quota-disk = Disk
quota-memory-mib = Memory (MiB)
quota-disk-gib = Disk (GiB)
quota-used = { $n } in use

users-title = Users
users-new = New user
users-created = User { $name } created.
users-created-at = Created { $time } UTC
users-back = ← All users
users-account = Account
users-disabled = Account disabled (cannot sign in)
users-reset-password = Reset password
users-delete = Delete user
users-delete-confirm = Delete this user and their API tokens? This cannot be undone.
saved = Saved.

audit-title = Audit log
audit-time = Time
audit-actor = User
audit-source = Source
audit-action = Action
audit-target = Target
audit-result = Result
audit-details = Details
audit-any = Any
audit-from = From
audit-to = To
audit-export-csv = Download CSV
audit-times-utc = Times are in UTC.
result-ok = OK
result-denied = Denied
result-failed = Failed
page-prev = ← Newer
page-next = Older →
page-of = Page { $page } of { $pages } ({ $total } records)

profile-title = Profile
profile-details = Details
profile-password = Password
profile-change-password = Change password
profile-password-changed = Password changed. Your other sessions have been signed out.
profile-avatar = Avatar
profile-avatar-hint = PNG, JPEG or WebP, at most 512 KiB

tokens-title = API tokens
tokens-hint = Use a token as "Authorization: Bearer <token>" in scripts. It acts with your role.
tokens-name = Name
tokens-prefix = Token
tokens-created = Created (UTC)
tokens-last-used = Last used (UTC)
tokens-create = Create token
tokens-revoke = Revoke
tokens-shown-once = Copy this token now: it will not be shown again.

not-found-title = Page not found
not-found-home = Back to the dashboard

error-unauthenticated = Please sign in.
error-session-expired = Your session has expired. Please sign in again.
error-invalid-token = The API token is invalid or was revoked.
error-invalid-credentials = Wrong username or password.
error-account-disabled = This account is disabled.
error-too-many-attempts = Too many failed sign-in attempts. Try again in { $retry_after } seconds.
error-forbidden = You do not have permission to do this.
error-csrf-failed = Your page is out of date. Reload it and try again.
error-not-found = Not found.
error-invalid-input = Invalid value for “{ $field }” ({ $reason }).
error-password-too-short = The password must have at least { $min } characters.
error-username-taken = This username is already taken.
error-last-admin = The last active administrator cannot be removed, disabled or demoted.
error-cannot-delete-self = You cannot delete your own account.
error-quota-exceeded = Quota exceeded for { $resource }: { $used } of { $limit } in use, { $requested } requested.
error-invalid-image = The file must be a PNG, JPEG or WebP image.
error-payload-too-large = The upload is too large.
error-malformed-json = The request was malformed.
error-unsupported-media-type = The request had the wrong content type.
error-internal = Something went wrong on the server. { $message }
error-network = The server cannot be reached.
error-bad-response = The server sent an unexpected answer.
error-http-error = The server answered with an error.
