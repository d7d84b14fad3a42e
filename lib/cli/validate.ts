/** `mixpeek plugin validate`: the checks of `plugin test` without pytest and sample data (lib/cli/test.ts). */
export { runValidate } from "./test.ts";
