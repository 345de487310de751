"""Roles (角色) known to every node; central's own pages serve central_admin and auditor."""

from __future__ import annotations

VILLAGE_STAFF = "village_staff"
TOWNSHIP_CLERK = "township_clerk"
COUNTY_CLERK = "county_clerk"
PROXY_AGENT = "proxy_agent"
CENTRAL_ADMIN = "central_admin"
AUDITOR = "auditor"

ROLES = (VILLAGE_STAFF, TOWNSHIP_CLERK, COUNTY_CLERK, PROXY_AGENT, CENTRAL_ADMIN, AUDITOR)
CENTRAL_ROLES = (CENTRAL_ADMIN, AUDITOR)
REVIEWERS = (CENTRAL_ADMIN, AUDITOR)
