-- Lists of an organization's memberships page by id (creation order), most
-- often filtered by status and role: with these, a page costs the same on
-- the first page and the 4,000th.
CREATE INDEX provisioning_memberships_org_idx ON provisioning_memberships (organization_id, id)

--bun:split

CREATE INDEX provisioning_memberships_list_idx ON provisioning_memberships (organization_id, status, role_id, id)
