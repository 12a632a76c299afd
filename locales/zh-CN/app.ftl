app-title = Hangar
language = 语言

nav-dashboard = 仪表盘
nav-vms = 虚拟机
nav-hosts = 主机
nav-storage = 存储
nav-networks = 网络
nav-images = 镜像
nav-users = 用户
nav-audit = 审计日志
nav-profile = 个人资料
nav-api-docs = API 文档
nav-coming-soon = 即将推出

action-sign-in = 登录
action-sign-out = 退出登录
action-save = 保存
action-create = 创建
action-cancel = 取消
action-delete = 删除
action-filter = 筛选

field-username = 用户名
field-password = 密码
field-display-name = 显示名称
field-email = 电子邮箱
field-role = 角色
field-status = 状态
field-current-password = 当前密码
field-new-password = 新密码

role-admin = 管理员
role-operator = 运维人员
role-user = 普通用户
role-auditor = 审计员

status-active = 已启用
status-disabled = 已禁用

login-subtitle = 登录以管理您的虚拟机。

dashboard-title = 仪表盘
dashboard-my-quota = 我的配额
dashboard-recent-events = 最近活动
dashboard-all-events = 全部审计记录

quota-title = 配额
quota-vms = 虚拟机数
quota-vcpus = 虚拟 CPU
quota-memory = 内存
quota-disk = 磁盘
quota-memory-mib = 内存（MiB）
quota-disk-gib = 磁盘（GiB）
quota-used = 已用 { $n }

users-title = 用户
users-new = 新建用户
users-created = 已创建用户 { $name }。
users-created-at = 创建于 { $time }（UTC）
users-back = ← 全部用户
users-account = 账户
users-disabled = 禁用账户（无法登录）
users-reset-password = 重置密码
users-delete = 删除用户
users-delete-confirm = 删除此用户及其 API 令牌？此操作无法撤销。
saved = 已保存。

audit-title = 审计日志
audit-time = 时间
audit-actor = 用户
audit-source = 来源
audit-action = 操作
audit-target = 对象
audit-result = 结果
audit-details = 详情
audit-any = 全部
audit-from = 起始
audit-to = 截止
audit-export-csv = 下载 CSV
audit-times-utc = 时间均为 UTC。
result-ok = 成功
result-denied = 拒绝
result-failed = 失败
page-prev = ← 较新
page-next = 较旧 →
page-of = 第 { $page } / { $pages } 页（共 { $total } 条）

profile-title = 个人资料
profile-details = 基本信息
profile-password = 密码
profile-change-password = 修改密码
profile-password-changed = 密码已修改，您的其他会话已退出登录。
profile-avatar = 头像
profile-avatar-hint = PNG、JPEG 或 WebP，最大 512 KiB

tokens-title = API 令牌
tokens-hint = 在脚本中以 "Authorization: Bearer <令牌>" 使用令牌，它拥有与您相同的角色。
tokens-name = 名称
tokens-prefix = 令牌
tokens-created = 创建时间（UTC）
tokens-last-used = 最近使用（UTC）
tokens-create = 创建令牌
tokens-revoke = 吊销
tokens-shown-once = 请立即复制此令牌：它不会再次显示。

not-found-title = 页面不存在
not-found-home = 返回仪表盘

error-unauthenticated = 请先登录。
error-session-expired = 会话已过期，请重新登录。
error-invalid-token = API 令牌无效或已被吊销。
error-invalid-credentials = 用户名或密码错误。
error-account-disabled = 此账户已被禁用。
error-too-many-attempts = 登录失败次数过多，请在 { $retry_after } 秒后重试。
error-forbidden = 您没有执行此操作的权限。
error-csrf-failed = 页面已过期，请刷新后重试。
error-not-found = 未找到。
error-invalid-input = “{ $field }”的值无效（{ $reason }）。
error-password-too-short = 密码至少需要 { $min } 个字符。
error-username-taken = 该用户名已被占用。
error-last-admin = 不能删除、禁用或降级最后一个启用的管理员。
error-cannot-delete-self = 不能删除自己的账户。
error-quota-exceeded = { $resource } 超出配额：已用 { $used } / { $limit }，申请 { $requested }。
error-invalid-image = 文件必须是 PNG、JPEG 或 WebP 图片。
error-payload-too-large = 上传的内容过大。
error-malformed-json = 请求格式错误。
error-unsupported-media-type = 请求的内容类型错误。
error-internal = 服务器出错。{ $message }
error-network = 无法连接服务器。
error-bad-response = 服务器返回了意外的应答。
error-http-error = 服务器返回了错误。
