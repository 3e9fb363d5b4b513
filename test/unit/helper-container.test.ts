import { describe, expect, it } from "vitest";
import { ensureHelper, HELPER_IMAGE } from "../../src/runtime/helper-container.ts";
import { LABEL } from "../../src/runtime/labels.ts";
import { fakeEngine, helperContainer } from "../support/fake-engine.ts";

describe("ensureHelper on the fake engine", () => {
  it("starts the helper of the current image once, and retires the helpers of earlier images", async () => {
    const { runtime } = fakeEngine();
    runtime.images.refs.set(HELPER_IMAGE, {});
    // A helper an earlier build of the image left running.
    const old = await runtime.createContainer(helperContainer("fwlab-hostd-0123456789ab"));
    await runtime.startContainer(old);
    const id = await ensureHelper(runtime, "local");
    const helpers = await runtime.listContainers({ [LABEL.helper]: "hostd" });
    expect(helpers.map((h) => h.id)).toEqual([id]);
    expect(helpers[0]!.state).toBe("running");
    // Running already: the same one, nothing made.
    const creates = runtime.calls.filter((c) => c.startsWith("create")).length;
    expect(await ensureHelper(runtime, "local")).toBe(id);
    expect(runtime.calls.filter((c) => c.startsWith("create")).length).toBe(creates);
  });
});
