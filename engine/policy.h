/*
 * policy.h - turn a message's rule matches into a verdict
 *
 *	void policy_decide(const struct ruleset *rs,
 *			const struct envelope *env, struct verdict *v);
 *
 * DESCRIPTION
 *	policy_decide() reads v->matches (the rules that fired, each once)
 *	and fills the rest of v: the score (sum of the rules' scores), the
 *	action, the policy name, the SMTP reply for reject and tempfail, the
 *	reason line and the subject tag. The relay addresses (reroute, bcc)
 *	are the caller's to fill, from the rules that fired.
 *
 *	Each recipient's domain selects a policy (the default policy when
 *	none lists the domain, or when there are no recipients). For each
 *	policy involved, the action is the most severe of the rules' direct
 *	actions and of what the score reaches among the policy's thresholds
 *	(tag, quarantine, reject); the verdict is the most severe of these
 *	and names the policy that gave it (the first such one on a tie).
 *
 * DIAGNOSTICS
 *	None: every input gives a verdict.
 */
#ifndef MX_POLICY_H
#define MX_POLICY_H

#include "ruleset.h"

#define POLICY_REJECT_CODE	"550 5.7.1"
#define POLICY_TEMPFAIL_CODE	"451 4.7.1"
#define POLICY_REJECT_TEXT	"Message content rejected"
#define POLICY_TEMPFAIL_TEXT	"Message cannot be accepted now, try again later"

void policy_decide(const struct ruleset *rs, const struct envelope *env,
		   struct verdict *v);

#endif
