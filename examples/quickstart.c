/*
 * The whole Flock flow, end to end, against FLOCK_BASE_URL with the service
 * key FLOCK_ACCESS_KEY (scripts/quickstart.sh runs it against a local
 * flockd):
 *
 *   1. identify a referrer and an invitee (customers.identify)
 *   2. validate the referrer's code (referrals.validate)
 *   3. get the live campaign (campaigns.getLive)
 *   4. refer the invitee with the code (referrals.create)
 *   5. ingest the reward checkpoint for the invitee (checkpoints.ingest)
 *   6. print the rewards it granted
 *
 * Usage: quickstart [checkpoint_name]
 *   checkpoint: argv[1], else FLOCK_CHECKPOINT, else "purchase_completed"
 *   environment: FLOCK_ENVIRONMENT, else "production"
 * Exits 0 on success, 1 with the error detail on any failure.
 */
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "example.h"

typedef struct {
	flock_client *client;
	const char *environment;
	const char *checkpoint;
	char suffix[64]; /* makes this run's user ids unique */
	flock_customer *referrer;
	flock_customer *invitee;
	flock_validation *validation;
	flock_campaign *campaign;
	flock_referral *referral;
	flock_checkpoint_result *result;
} quickstart;

static int identify(quickstart *q, flock_customer **out, const char *who,
                    const char *name)
{
	flock_identify_params params = FLOCK_IDENTIFY_PARAMS_INIT;
	char user_id[128], email[160];
	int rc;

	snprintf(user_id, sizeof(user_id), "%s_%s", who, q->suffix);
	snprintf(email, sizeof(email), "%s.%s@example.com", who, q->suffix);
	params.external_user_id = user_id;
	params.email = email;
	params.name = name;
	params.custom_properties_json = "{\"plan\":\"premium\"}";
	rc = flock_customers_identify(out, q->client, &params);
	if (rc != 0)
		return example_fail("identify", rc);
	printf("1. identified %-8s %s (%s), referral code %s\n", who,
	       (*out)->id, user_id,
	       (*out)->referral_code ? (*out)->referral_code : "-");
	return 0;
}

static int validate_code(quickstart *q)
{
	const char *code = q->referrer->referral_code;
	int rc;

	if (code == NULL) {
		fprintf(stderr, "the referrer has no referral code\n");
		return 1;
	}
	rc = flock_referrals_validate(&q->validation, q->client, code);
	if (rc != 0)
		return example_fail("referrals validate", rc);
	if (!q->validation->is_valid || q->validation->referred_by == NULL) {
		fprintf(stderr, "code %s is not valid\n", code);
		return 1;
	}
	printf("2. code %s is valid, from %s\n", code,
	       q->validation->referred_by->id);
	return 0;
}

static int get_live_campaign(quickstart *q)
{
	flock_get_live_params params = FLOCK_GET_LIVE_PARAMS_INIT;
	int rc;

	params.environment = q->environment;
	params.customer_id = q->invitee->id;
	rc = flock_campaigns_get_live(&q->campaign, q->client, &params);
	if (rc != 0)
		return example_fail("campaigns get live", rc);
	printf("3. live campaign %s (%s), %zu reward(s) defined\n",
	       q->campaign->id, q->campaign->name, q->campaign->reward_count);
	return 0;
}

static int create_referral(quickstart *q)
{
	flock_referral_create_params params = FLOCK_REFERRAL_CREATE_PARAMS_INIT;
	int rc;

	params.campaign_id = q->campaign->id;
	params.referral_code = q->referrer->referral_code;
	params.referee_id = q->invitee->id;
	rc = flock_referrals_create(&q->referral, q->client, &params);
	if (rc != 0)
		return example_fail("referrals create", rc);
	printf("4. referral %s created, status %s\n", q->referral->id,
	       q->referral->status);
	return 0;
}

static int ingest(quickstart *q)
{
	flock_ingest_params params = FLOCK_INGEST_PARAMS_INIT;
	size_t i;
	int rc;

	params.external_user_id = q->invitee->external_user_id;
	params.environment = q->environment;
	rc = flock_checkpoints_ingest(&q->result, q->client, q->checkpoint,
	                              &params);
	if (rc != 0)
		return example_fail("checkpoints ingest", rc);
	printf("5. checkpoint %s ingested (%s), matched: %s\n", q->checkpoint,
	       q->result->id, q->result->matched ? "yes" : "no");
	if (q->result->blocked_by != NULL)
		printf("   no reward: %s\n", q->result->blocked_by);
	printf("6. %zu reward(s) granted\n", q->result->reward_count);
	for (i = 0; i < q->result->reward_count; i++) {
		const flock_reward *r = q->result->rewards[i];

		printf("   %s to %s %s: %s %.2f %s, %s\n", r->id, r->party,
		       r->customer_id, r->type,
		       r->payout_amount > 0 ? r->payout_amount
		                            : r->discount_amount,
		       r->currency ? r->currency : "", r->status);
	}
	return 0;
}

static void quickstart_free(quickstart *q)
{
	flock_checkpoint_result_free(q->result);
	flock_referral_free(q->referral);
	flock_campaign_free(q->campaign);
	flock_validation_free(q->validation);
	flock_customer_free(q->invitee);
	flock_customer_free(q->referrer);
	flock_client_free(q->client);
}

int main(int argc, char **argv)
{
	quickstart q;
	int status = 1;

	memset(&q, 0, sizeof(q));
	q.environment = example_environment();
	q.checkpoint = argc > 1 ? argv[1]
	                        : example_getenv("FLOCK_CHECKPOINT",
	                                         "purchase_completed");
	snprintf(q.suffix, sizeof(q.suffix), "%lld_%ld", (long long)time(NULL),
	         (long)getpid());
	if (example_client_new(&q.client) != 0)
		goto done;
	printf("Flock quick start against %s (%s)\n",
	       flock_client_base_url(q.client), q.environment);
	if (identify(&q, &q.referrer, "referrer", "Jane Doe") != 0 ||
	    identify(&q, &q.invitee, "invitee", "John Roe") != 0 ||
	    validate_code(&q) != 0 || get_live_campaign(&q) != 0 ||
	    create_referral(&q) != 0 || ingest(&q) != 0)
		goto done;
	status = 0;
done:
	quickstart_free(&q);
	return status;
}
