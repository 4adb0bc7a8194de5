"""The staff face (`/admin`): piccolo-admin, dashboards, scanner. Arrives with the faces issue."""
