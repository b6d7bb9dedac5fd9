/** The API's configuration of channels and of the product catalogue. */
import { describe, expect, it } from "vitest";
import { natsSystemsOfApi, resolveApiConfig } from "../../services/api/api-config.ts";

const key = (name: string, channel?: string) => ({
  name,
  roles: ["commerce"],
  key: `${name}-0123456789abcdefghijklmnopqrstuvwxyz`,
  ...(channel ? { channel } : {}),
});

describe("API configuration", () => {
  it("speaks for the channels of its keys; its NATS user must send as each", () => {
    const c = resolveApiConfig({
      regions: ["eu"],
      apiKeys: [key("a", "SHOP_NL"), key("b"), key("c", "SHOP_NL")],
    });
    expect(c.channels).toEqual(["SHOP_NL"]);
    expect(natsSystemsOfApi(c, "stockline-api")).toEqual(["stockline-api", "SHOP_NL"]);
    expect(c.apiKeys[0]!.channel).toBe("SHOP_NL");
    expect(c.knownSku).toBeUndefined();
  });

  it("a key bound to a channel outside `channels` is a configuration error naming the key", () => {
    expect(() =>
      resolveApiConfig({ regions: ["eu"], channels: ["SHOP_NL"], apiKeys: [key("a", "SHOP_BE")] }),
    ).toThrow(/apiKeys\.0\.channel.*SHOP_BE/s);
  });

  it("`products` is the catalogue", () => {
    const c = resolveApiConfig({ regions: ["eu"], apiKeys: [key("a")], products: ["SKU-1"] });
    expect(c.knownSku?.("SKU-1")).toBe(true);
    expect(c.knownSku?.("SKU-2")).toBe(false);
  });
});
