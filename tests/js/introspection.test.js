// The standard introspection query, as graphql-js builds it for GraphiQL, code generators,
// Postman and Insomnia (`getIntrospectionQuery` with every option on), reads the whole schema:
// the document limits bound introspection separately, so tools are not refused as "too deep".
import assert from "node:assert/strict";
import { test } from "node:test";
import { buildClientSchema, getIntrospectionQuery } from "graphql";
import { graphql, useServer } from "./server.js";

const env = useServer();

test("getIntrospectionQuery with every option reads the schema", async () => {
  const query = getIntrospectionQuery({
    descriptions: true,
    specifiedByUrl: true,
    directiveIsRepeatable: true,
    schemaDescription: true,
    inputValueDeprecation: true,
    oneOf: true,
  });
  const data = await graphql(env.server, query);
  const schema = buildClientSchema(data);
  assert.ok(schema.getQueryType().getFields().books, "Query.books");
  assert.ok(schema.getSubscriptionType().getFields().balancesChanged, "Subscription.balancesChanged");
});
