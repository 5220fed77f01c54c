// What `pnpm pack` and `pnpm publish` (so `pnpm release`) put in a published package.json: the manifest a consumer
// needs, without the workspace's development fields. devDependencies name private workspace packages
// (`@fedkit/flare-toolchain`) and tools a consumer never installs; scripts run workspace files that are not shipped.
module.exports = {
  hooks: {
    beforePacking(pkg) {
      delete pkg.devDependencies;
      delete pkg.scripts;
      return pkg;
    },
  },
};
