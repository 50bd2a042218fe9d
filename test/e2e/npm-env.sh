# Sourced by test/e2e/setup.sh: sets the array npm_env, a prefix (`"${npm_env[@]}" npm install …`) that runs an inner
# npm in a clean environment.
# - An outer `npm run` (Node 20) exports npm_config_user_agent="npm/… node/v20…", npm_config_node_gyp,
#   npm_config_nodedir, NODE …; code-server's postinstall reads the Node major version from that user agent and
#   refuses to install under Node 24. Every variable the outer npm exported is dropped, so the inner npm describes
#   the Node it runs on (test/project/setup-scripts.test.ts checks this from inside `npm run`).
# - The user's ~/.npmrc may set yes=false or ignore-scripts; install scripts must run (native modules), so they are
#   allowed explicitly, also for npm versions that block them by default.
npm_env=(env)
while IFS= read -r npm_env_var; do npm_env+=(-u "$npm_env_var"); done < <(compgen -e | grep -iE '^(npm_|node$|init_cwd$)')
unset npm_env_var
npm_env+=(npm_config_yes=true npm_config_unsafe_perm=true npm_config_fund=false npm_config_audit=false
          npm_config_update_notifier=false npm_config_loglevel=error npm_config_ignore_scripts=false
          npm_config_dangerously_allow_all_scripts=true)
