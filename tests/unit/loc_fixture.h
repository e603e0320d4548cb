/*
 * loc_fixture.h - building location models in unit tests (site PS1):
 * included after cmocka.h and location.h by the tests that need it
 */
#ifndef LOC_FIXTURE_H
#define LOC_FIXTURE_H

/* m: the seed's defaults, with dp, mp and sup minutes as given */
static void
minutes(int m[LOC_NROLES], int dp, int mp, int sup)
{
	loc_fallback_defaults(m);
	m[LOC_DP] = dp;
	m[LOC_MP] = mp;
	m[LOC_SUP] = sup;
}

/* group name of PS1, and if subnet is given, boundary bnd of it inside */
static void
group_with(struct loc_builder *b, const char *name, const char *bnd,
    const char *subnet)
{
	assert_int_equal(loc_add_group(b, name, "PS1"), 0);
	if (subnet != NULL) {
		assert_int_equal(
		    loc_add_boundary(b, bnd, LOC_B_SUBNET, subnet), 0);
		assert_int_equal(loc_add_member(b, name, bnd), 0);
	}
}

/* a server of PS1 with roles, assigned to grp */
static void
server(struct loc_builder *b, const char *grp, const char *fqdn, unsigned roles)
{
	assert_int_equal(loc_add_server(b, fqdn, "PS1", roles), 0);
	assert_int_equal(loc_add_group_server(b, grp, fqdn), 0);
}

#endif
