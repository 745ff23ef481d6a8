"""URLs of the guarded test views, under ``/guarded/`` (``tests/test_guards.py``)."""

from django.urls import path

from tests.testapp import guard_views as views

urlpatterns = [
    path("role/admin/", views.role_admin),
    path("role/editor/", views.role_editor),
    path("role/viewer/", views.role_viewer),
    path("role/all/", views.role_all),
    path("role/any/", views.role_any),
    path("role/raise/", views.role_raise),
    path("role/login-url/", views.role_login_url),
    path("role/editor/fresh/", views.role_editor_fresh),
    path("tier/pro/", views.tier_pro),
    path("tier/unknown/", views.tier_unknown),
    path("tier/enterprise/fresh/", views.tier_enterprise_fresh),
    path("flag/beta/", views.flag_beta),
    path("flag/all/", views.flag_all),
    path("flag/any/", views.flag_any),
    path("async/role/admin/", views.async_role_admin),
    path("async/tier/pro/", views.async_tier_pro),
    path("async/flag/beta/", views.async_flag_beta),
    path("async/role/editor/fresh/", views.async_role_editor_fresh),
    path("async/cbv/decorated/", views.decorated_async_cbv),
    path("cbv/role/admin/", views.RoleAdminView.as_view()),
    path("cbv/role/any/", views.RoleAnyView.as_view()),
    path("cbv/role/<str:role>/from-url/", views.RoleFromUrlView.as_view()),
    path("cbv/role/raise/", views.RoleRaiseView.as_view()),
    path("cbv/role/login-url/", views.RoleLoginUrlView.as_view()),
    path("cbv/role/editor/fresh/", views.RoleEditorFreshView.as_view()),
    path("cbv/tier/pro/", views.TierProView.as_view()),
    path("cbv/flag/beta/", views.FlagBetaView.as_view()),
    path("cbv/flag/any/", views.FlagAnyView.as_view()),
    path("cbv/editor-beta/", views.EditorWithBetaView.as_view()),
    path("cbv/missing/", views.MissingRolesView.as_view()),
    path("async/cbv/role/admin/", views.AsyncRoleAdminView.as_view()),
    path("async/cbv/tier/pro/", views.AsyncTierProView.as_view()),
    path("async/cbv/flag/beta/", views.AsyncFlagBetaView.as_view()),
    path("async/cbv/role/editor/fresh/", views.AsyncRoleEditorFreshView.as_view()),
    path("filters/", views.filters),
]
