/*
 * flockctl: the commands (main.c's table names them).
 */
#ifndef FLOCKCTL_CMDS_H
#define FLOCKCTL_CMDS_H

#include "ctl.h"

#define CMD(name) int name(ctl *c, const ctl_args *a)

/* cmd_wire.c: libflock's calls */
CMD(cmd_customers_identify);
CMD(cmd_checkpoints_ingest);
CMD(cmd_campaigns_live);
CMD(cmd_campaigns_list);
CMD(cmd_campaigns_checkpoints);
CMD(cmd_referrals_validate);
CMD(cmd_referrals_create);
CMD(cmd_referrals_list);
CMD(cmd_rewards_trigger);

/* cmd_admin.c: the admin API */
CMD(cmd_apps_list);
CMD(cmd_apps_create);
CMD(cmd_keys_list);
CMD(cmd_keys_create);
CMD(cmd_keys_revoke);
CMD(cmd_campaigns_get);
CMD(cmd_campaigns_create);
CMD(cmd_campaigns_update);
CMD(cmd_campaigns_add_reward);
CMD(cmd_campaigns_add_checkpoint);
CMD(cmd_campaigns_go_live);
CMD(cmd_customers_list);
CMD(cmd_customers_get);
CMD(cmd_customers_delete);
CMD(cmd_referrals_approve);
CMD(cmd_referrals_reject);
CMD(cmd_rewards_list);
CMD(cmd_rewards_approve);
CMD(cmd_rewards_fulfil);
CMD(cmd_rewards_revoke);
CMD(cmd_events_list);
CMD(cmd_analytics);
CMD(cmd_api);
/* The admin list behind "referrals list --admin", "campaigns list
 * --admin". */
int admin_referrals_list(ctl *c, const ctl_args *a);
int admin_campaigns_list(ctl *c, const ctl_args *a);

/* cmd_webhooks.c */
CMD(cmd_webhooks_list);
CMD(cmd_webhooks_create);
CMD(cmd_webhooks_get);
CMD(cmd_webhooks_update);
CMD(cmd_webhooks_delete);
CMD(cmd_webhooks_rotate);
CMD(cmd_webhooks_deliveries);
CMD(cmd_webhooks_attempts);
CMD(cmd_webhooks_replay);
CMD(cmd_webhooks_verify);
/* cmd_listen.c */
CMD(cmd_webhooks_listen);

/* cmd_import.c, cmd_export.c */
CMD(cmd_import_customers);
CMD(cmd_import_referrals);
CMD(cmd_export_customers);
CMD(cmd_export_referrals);
CMD(cmd_export_rewards);

/* cmd_config.c */
CMD(cmd_config_set);
CMD(cmd_config_use);
CMD(cmd_config_list);
CMD(cmd_config_show);
CMD(cmd_config_delete);
CMD(cmd_config_path);

/* complete.c, main.c */
CMD(cmd_completion);
CMD(cmd_version);
CMD(cmd_help);

/* ---- helpers the commands share (cmd_admin.c) ------------------------ */

/* Admin GET of a list path (query already in it, or none): one page
 * (--limit, --offset) or, with --all, every page; prints with cols. */
int admin_list(ctl *c, const ctl_args *a, const char *path,
               const ctl_col *cols);
/* Admin call on the application's path ("/admin/apps/<app>" + suffix),
 * printing the answer as an object. */
int admin_app_object(ctl *c, const char *method, const char *suffix,
                     json_t *body);
/* "/admin/apps/<app>" + the printf-made suffix into buf; NULL after
 * saying why (*rc). */
const char *app_path(ctl *c, int *rc, char *buf, size_t len, const char *fmt,
                     ...)
#ifdef __GNUC__
        __attribute__((format(printf, 5, 6)))
#endif
        ;
/* A JSON object from --file (or "-": stdin), or a new empty object;
 * NULL after saying why. */
json_t *body_from_file(const ctl_args *a, const char *opt);
/* Options KEY=VALUE (repeated opt) and a JSON object (json_opt) merged
 * into one object text (malloc'd), or NULL when neither was given; *rc
 * CTL_EUSAGE when one is malformed. */
char *props_from_args(const ctl *c, const ctl_args *a, const char *opt,
                      const char *json_opt, int *rc);
/* Parse a whole number option; 0, or CTL_EUSAGE after saying why. */
int arg_long(const ctl *c, const ctl_args *a, const char *name, long min,
             long max, long *out);
/* A secret to be shown once: print the object; the secret goes to
 * --secret-file (new file, 0600) or, with --show-secret, is printed. */
int out_with_secret(ctl *c, const ctl_args *a, json_t *obj);
/* Before asking for a secret to be made: --show-secret or --secret-file
 * is required (else it would be lost). 0 or CTL_EUSAGE. */
int need_secret_sink(const ctl *c, const ctl_args *a);

extern const ctl_col cols_customer[];
extern const ctl_col cols_campaign[];
extern const ctl_col cols_referral[];
extern const ctl_col cols_reward[];
extern const ctl_col cols_checkpoint[];

#endif
