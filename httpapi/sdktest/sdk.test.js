// Drives the httpapi server with the official Commerce Layer Provisioning
// SDK. TestSDK (sdk_test.go) starts the server and runs `node --test` here
// with PROV_BASE, OWNER_EMAIL and OWNER_TOKEN (a user without organizations),
// MEMBER_EMAIL and MEMBER_TOKEN (another user) and OTHER_ORG (an
// organization neither belongs to).
const { test } = require('node:test')
const assert = require('node:assert/strict')
const { CommerceLayerProvisioning } = require('@commercelayer/provisioning-sdk')

const BASE = process.env.PROV_BASE
// The SDK calls https://provisioning.commercelayer.io/api/...: keep the
// path and query, send them to the local server.
const localFetch = (input, init) => {
  const u = new URL(String(input))
  return fetch(BASE + u.pathname + u.search, init)
}
const client = (accessToken) => CommerceLayerProvisioning({ accessToken, fetch: localFetch })
const owner = client(process.env.OWNER_TOKEN)
const member = client(process.env.MEMBER_TOKEN)

// rejects checks that call fails with an ApiError of status and code.
async function rejects (call, status, code) {
  await assert.rejects(call, (e) => {
    assert.ok(owner.isApiError(e), `want an ApiError, got ${e}`)
    assert.equal(e.status, status, JSON.stringify(e.errors))
    if (code) assert.equal(e.first().code, code)
    return true
  })
}

test('the provisioning API through the SDK', async (t) => {
  let org, admin, readOnly

  await t.test('user singleton: retrieve, update', async () => {
    const me = await owner.user.retrieve()
    assert.equal(me.type, 'users')
    assert.equal(me.email, process.env.OWNER_EMAIL)
    const updated = await owner.user.update({ first_name: 'Ada', time_zone: 'Europe/Rome' })
    assert.equal(updated.first_name, 'Ada')
    assert.equal(updated.time_zone, 'Europe/Rome')
  })

  await t.test('organizations: create, list with filters, sort, pages, retrieve, update', async () => {
    org = await owner.organizations.create({ name: 'Acme Blue', support_email: 'help@blue.example', metadata: { tier: 'gold' } })
    assert.equal(org.slug, 'acme-blue')
    assert.equal(org.region, 'eu-west-1')
    const second = await owner.organizations.create({ name: 'Green Goods' })
    const byName = await owner.organizations.list({ filters: { name_eq: 'Green Goods' } })
    assert.equal(byName.length, 1)
    assert.equal(byName[0].id, second.id)
    const goods = await owner.organizations.list({ filters: { name_cont: 'GOODS', support_email_null: true } })
    assert.deepEqual(Array.from(goods, (o) => o.id), [second.id], 'name_cont is case-insensitive')
    const byNameDesc = await owner.organizations.list({ sort: { name: 'desc' } })
    assert.deepEqual(Array.from(byNameDesc, (o) => o.name), ['Green Goods', 'Acme Blue'])
    const page = await owner.organizations.list({ sort: { created_at: 'desc' }, pageSize: 1, pageNumber: 1 })
    assert.equal(page.meta.recordCount, 2)
    assert.equal(page.meta.pageCount, 2)
    assert.equal(page[0].id, second.id)
    assert.ok(page.hasNextPage())
    const sparse = await owner.organizations.retrieve(org.id, { fields: ['name', 'id'] })
    assert.equal(sparse.name, 'Acme Blue')
    assert.equal(sparse.slug, undefined)
    const up = await owner.organizations.update({ id: org.id, primary_color: '#C8984E' })
    assert.equal(up.primary_color, '#C8984E')
    const orgRoles = await owner.organizations.roles(org.id, { sort: ['name'] })
    assert.deepEqual(Array.from(orgRoles, (r) => r.name), Array.from(orgRoles, (r) => r.name).sort())
    assert.ok(orgRoles.length >= 2)
    admin = orgRoles.find((r) => r.kind === 'admin')
    readOnly = orgRoles.find((r) => r.kind === 'read_only')
    assert.ok(admin && readOnly)
    assert.equal((await owner.organizations.memberships(org.id)).length, 1)
    assert.equal((await owner.organizations.permissions(org.id)).meta.recordCount, 0)
    assert.equal((await owner.organizations.api_credentials(org.id)).length, 2)
  })

  let invited
  await t.test('memberships: create, include, list, retrieve, update, resend, related, delete', async () => {
    invited = await owner.memberships.create({
      user_email: 'ann@example.com',
      access_scope: 'test_access',
      organization: owner.organizations.relationship(org.id),
      role: owner.roles.relationship(readOnly.id)
    }, { include: ['organization', 'role'] })
    assert.equal(invited.status, 'pending')
    assert.equal(invited.test_enabled, true)
    assert.equal(invited.organization.name, 'Acme Blue')
    assert.equal(invited.role.kind, 'read_only')
    const pending = await owner.memberships.list({ filters: { status_eq: 'pending', organization_id_eq: org.id } })
    assert.equal(pending.length, 1)
    const anns = await owner.memberships.list({ filters: { user_email_cont: 'ANN', status_in: ['pending', 'active'], owner_false: true } })
    assert.deepEqual(Array.from(anns, (m) => m.id), [invited.id])
    // over both organizations: the owner's two memberships (sdk-owner@) sort before ann@, descending
    const byEmail = await owner.memberships.list({ sort: { user_email: 'desc' }, pageSize: 2, pageNumber: 2 })
    assert.equal(byEmail.meta.recordCount, 3)
    assert.equal(byEmail.meta.pageCount, 2)
    assert.deepEqual(Array.from(byEmail, (m) => m.id), [invited.id])
    assert.equal(await owner.memberships.count({ filters: { organization_id_eq: org.id } }), 2)
    const got = await owner.memberships.retrieve(invited.id, { include: ['role.organization'] })
    assert.equal(got.role.organization.id, org.id)
    await owner.memberships.resend(invited.id)
    const updated = await owner.memberships.update({ id: invited.id, access_scope: 'all_access', role: owner.roles.relationship(admin.id) })
    assert.equal(updated.access_scope, 'all_access')
    assert.equal((await owner.memberships.role(invited.id)).id, admin.id)
    assert.equal((await owner.memberships.organization(invited.id)).id, org.id)
    assert.equal(await owner.memberships.membership_profile(invited.id), null)
    assert.equal((await owner.memberships.application_memberships(invited.id)).length, 0)
    const versions = await owner.memberships.versions(invited.id)
    assert.ok(versions.some((v) => v.event === 'update' && v.changes.role_id))
  })

  let profile
  await t.test('membership profiles: create, list, update, related, delete', async () => {
    profile = await owner.membership_profiles.create({ name: 'Ops', access_scope: 'live_access', organization: owner.organizations.relationship(org.id) })
    assert.equal(profile.test_enabled, false)
    assert.equal((await owner.membership_profiles.list({ filters: { name_eq: 'Ops' } })).length, 1)
    const up = await owner.membership_profiles.update({ id: profile.id, access_scope: 'all_access' })
    assert.equal(up.test_enabled, true)
    assert.equal((await owner.membership_profiles.organization(profile.id)).id, org.id)
    assert.equal((await owner.membership_profiles.application_memberships(profile.id)).length, 0)
    const doomed = await owner.membership_profiles.create({ name: 'Tmp', access_scope: 'test_access', organization: owner.organizations.relationship(org.id) })
    await owner.membership_profiles.delete(doomed.id)
    await rejects(owner.membership_profiles.retrieve(doomed.id), 404, 'RECORD_NOT_FOUND')
  })

  let custom, perm
  await t.test('roles and permissions: create, _add_missing_base_permissions, update, related', async () => {
    custom = await owner.roles.create({ name: 'Support', organization: owner.organizations.relationship(org.id) })
    assert.equal(custom.kind, 'custom')
    perm = await owner.permissions.create({ subject: 'orders', can_create: false, can_read: true, can_update: true, can_destroy: false, role: owner.roles.relationship(custom.id) })
    assert.equal(perm.subject, 'orders')
    const flipped = await owner.permissions.update({ id: perm.id, can_update: false })
    assert.equal(flipped.can_update, false)
    assert.equal((await owner.permissions.role(perm.id)).id, custom.id)
    assert.equal((await owner.permissions.organization(perm.id)).id, org.id)
    assert.ok((await owner.permissions.versions(perm.id)).length >= 1)
    const based = await owner.roles._add_missing_base_permissions(custom.id)
    assert.equal(based.id, custom.id)
    const perms = await owner.roles.permissions(custom.id, { filters: { subject_eq: 'orders' } })
    assert.equal(perms.length, 1)
    assert.equal((await owner.roles.update({ id: custom.id, name: 'Support desk' })).name, 'Support desk')
    assert.equal((await owner.roles.memberships(admin.id)).length, 2)
    assert.equal((await owner.roles.api_credentials(admin.id)).length, 2)
    assert.equal((await owner.roles.organization(custom.id)).id, org.id)
    assert.ok((await owner.roles.versions(custom.id)).length >= 1)
    assert.equal((await owner.permissions.list({ filters: { role_id_eq: custom.id } })).meta.recordCount, (await owner.roles.permissions(custom.id)).meta.recordCount)
  })

  let app
  await t.test('api credentials and application memberships', async () => {
    const job = await owner.api_credentials.create({ name: 'Job', kind: 'integration', organization: owner.organizations.relationship(org.id), role: owner.roles.relationship(readOnly.id) })
    assert.ok(job.client_secret, 'the secret is shown at creation')
    assert.equal((await owner.api_credentials.retrieve(job.id)).client_secret, null)
    assert.equal((await owner.api_credentials.update({ id: job.id, name: 'Nightly job' })).name, 'Nightly job')
    assert.equal((await owner.api_credentials.role(job.id)).id, readOnly.id)
    assert.equal((await owner.api_credentials.organization(job.id)).id, org.id)
    const live = await owner.api_credentials.list({ filters: { mode_eq: 'live', organization_id_eq: org.id } })
    assert.equal(live.length, 1)
    app = await owner.api_credentials.create({ name: 'Orders app', kind: 'orders', organization: owner.organizations.relationship(org.id), role: owner.roles.relationship(admin.id) })
    const am = await owner.application_memberships.create({
      filters: { market_id_in: [202, 203] },
      organization: owner.organizations.relationship(org.id),
      api_credential: owner.api_credentials.relationship(app.id),
      membership_profile: owner.membership_profiles.relationship(profile.id),
      role: owner.roles.relationship(readOnly.id)
    }, { include: ['api_credential', 'membership_profile'] })
    assert.deepEqual(am.filters, { market_id_in: [202, 203] })
    assert.equal(am.api_credential.id, app.id)
    const up = await owner.application_memberships.update({ id: am.id, role: owner.roles.relationship(admin.id) })
    assert.equal((await owner.application_memberships.role(up.id)).id, admin.id)
    assert.equal((await owner.application_memberships.organization(am.id)).id, org.id)
    assert.equal((await owner.application_memberships.api_credential(am.id)).id, app.id)
    assert.equal((await owner.application_memberships.membership_profile(am.id)).id, profile.id)
    assert.equal(await owner.application_memberships.membership(am.id), null)
    assert.equal((await owner.membership_profiles.application_memberships(profile.id)).length, 1)
    assert.equal((await owner.application_memberships.list({ filters: { api_credential_id_eq: app.id } })).length, 1)
    await owner.application_memberships.delete(am.id)
    await owner.api_credentials.delete(job.id)
    await rejects(owner.api_credentials.retrieve(job.id), 404)
  })

  await t.test('identity providers: create, _disable, _enable, user, delete', async () => {
    const idp = await owner.identity_providers.create({
      name: 'Blue SSO', client_id: 'cid', client_secret: 's3cret-value', issuer: 'https://login.blue.example',
      domains: 'blue.example', token_url: 'https://login.blue.example/token', authorize_url: 'https://login.blue.example/authorize',
      jwks_url: 'https://login.blue.example/jwks',
      // the provider's organization: a relationship (the "organization" attribute is the IdP's own parameter)
      organization: owner.organizations.relationship(org.id)
    })
    assert.equal(idp.status, 'pending')
    assert.ok(idp.txt_record)
    assert.notEqual(idp.client_secret, 's3cret-value')
    assert.ok((await owner.identity_providers._disable(idp.id)).disabled_at)
    assert.equal((await owner.identity_providers._enable(idp.id)).disabled_at, null)
    assert.equal((await owner.identity_providers.update({ id: idp.id, name: 'Blue SSO 2' })).name, 'Blue SSO 2')
    assert.equal((await owner.identity_providers.user(idp.id)).email, process.env.OWNER_EMAIL)
    assert.equal((await owner.identity_providers.list({ filters: { status_eq: 'pending' } })).length, 1)
    await owner.identity_providers.delete(idp.id)
  })

  await t.test('versions: list with filters and pages, retrieve', async () => {
    const list = await owner.versions.list({ filters: { resource_type_eq: 'roles', organization_id_eq: org.id }, pageSize: 2, sort: ['-created_at'] })
    assert.ok(list.meta.recordCount >= 3)
    assert.equal(list.length, 2)
    const one = await owner.versions.retrieve(list[0].id, { fields: ['event', 'changes'] })
    assert.ok(one.event)
    assert.equal(one.resource_type, undefined)
  })

  await t.test('ownership moves with transfer_ownership', async () => {
    const other = await owner.organizations.create({ name: 'Handover' })
    const bobM = await owner.memberships.create({ user_email: process.env.MEMBER_EMAIL, organization: owner.organizations.relationship(other.id), role: owner.roles.relationship((await owner.organizations.roles(other.id, { filters: { kind_eq: 'admin' } }))[0].id) })
    assert.equal(bobM.status, 'active')
    await owner.organizations.transfer_ownership(other.id, { new_owner_email: process.env.MEMBER_EMAIL })
    assert.equal((await member.memberships.retrieve(bobM.id)).owner, true)
  })

  await t.test('errors: bad input, missing token, forbidden, another organization', async () => {
    await rejects(owner.memberships.create({ user_email: 'not an email', organization: owner.organizations.relationship(org.id), role: owner.roles.relationship(readOnly.id) }), 422, 'VALIDATION_ERROR')
    await assert.rejects(owner.memberships.create({ user_email: 'x@example.com', organization: owner.organizations.relationship(org.id) }), (e) => {
      assert.equal(e.status, 422)
      assert.equal(e.first().source.pointer, '/data/relationships/role')
      return true
    })
    await rejects(owner.memberships.list({ filters: { invitation_token_cont: 'a' } }), 400, 'FILTER_NOT_ALLOWED')
    await rejects(owner.memberships.list({ sort: { nickname: 'asc' } }), 400, 'INVALID_SORT_CRITERIA')
    await rejects(owner.memberships.list({ include: ['nothing'] }), 400, 'INVALID_INCLUDE')
    // The SDK refuses to run without a token: drop the header on the way out.
    const anonymous = CommerceLayerProvisioning({
      accessToken: 'dropped',
      fetch: (input, init) => {
        const headers = new Headers(init.headers)
        headers.delete('authorization')
        return localFetch(input, { ...init, headers })
      }
    })
    await rejects(anonymous.user.retrieve(), 401, 'INVALID_TOKEN')
    await rejects(client('pvt_unknown-token-value').user.retrieve(), 401, 'INVALID_TOKEN')
    await owner.memberships.create({ user_email: process.env.MEMBER_EMAIL, organization: owner.organizations.relationship(org.id), role: owner.roles.relationship(readOnly.id) })
    await rejects(member.roles.create({ name: 'Mine', organization: member.organizations.relationship(org.id) }), 401, 'FORBIDDEN')
    await rejects(owner.organizations.retrieve(process.env.OTHER_ORG), 404, 'RECORD_NOT_FOUND')
    await rejects(owner.memberships.list({ filters: { organization_id_eq: process.env.OTHER_ORG } }), 404)
    await rejects(owner.memberships.delete(invited.id).then(() => owner.memberships.retrieve(invited.id)), 404)
  })
})
