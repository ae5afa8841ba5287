/**
 * Route schemas compiled on the route's first request instead of at start.
 * Fastify builds an Ajv validator and a fast-json-stringify serializer for
 * every route schema while the server starts, which was about 40 % of the
 * time to /healthz; a process serves only some of its routes, and what it
 * compiled is kept. The compilers are Fastify's own, with the server's
 * options, so a request is checked and a reply is written exactly as before.
 */
import AjvCompiler from '@fastify/ajv-compiler';
import SerializerSelector from '@fastify/fast-json-stringify-compiler';
import type { FastifyServerOptions } from 'fastify';

type Validator = ((data: unknown) => unknown) & { errors?: unknown };
type Serializer = (data: unknown) => string;
type Compile<Definition, Compiled> = (definition: Definition) => Compiled;
type ValidatorFactory = (externalSchemas: unknown, options: unknown) => Compile<unknown, Validator>;
type SerializerFactory = (externalSchemas: unknown, options: unknown) => Compile<unknown, Serializer>;

export interface LazySchemaCompilers {
  /** Fastify's `schemaController` option. */
  options: NonNullable<FastifyServerOptions['schemaController']>;
  /** Compiles every schema not compiled yet, so a test meets a broken schema without calling its route. */
  compileAll(): void;
}

export function lazySchemaCompilers(): LazySchemaCompilers {
  const pending = new Set<() => void>();

  /** A function that compiles `definition` on its first call (or compileAll) and then runs what was compiled. */
  function deferred<Compiled>(compile: Compile<unknown, Compiled>, definition: unknown): () => Compiled {
    let compiled: Compiled | undefined;
    const get = (): Compiled => {
      if (compiled === undefined) {
        compiled = compile(definition);
        pending.delete(get);
      }
      return compiled;
    };
    pending.add(get);
    return get;
  }

  const buildValidator = AjvCompiler() as unknown as ValidatorFactory;
  const buildSerializer = SerializerSelector() as unknown as SerializerFactory;
  // The Ajv instance itself, with the shared schemas added (and checked against the meta-schema), waits for the first compile too.
  const lazyValidators: ValidatorFactory = (externalSchemas, options) => {
    let compiler: Compile<unknown, Validator> | undefined;
    const compile: Compile<unknown, Validator> = (definition) => (compiler ??= buildValidator(externalSchemas, options))(definition);
    return (definition) => {
      const validator = deferred(compile, definition);
      // Fastify reads the errors of a failed check from the function it was given.
      const validate: Validator = (data) => {
        const compiled = validator();
        const valid = compiled(data);
        validate.errors = compiled.errors;
        return valid;
      };
      return validate;
    };
  };
  const lazySerializers: SerializerFactory = (externalSchemas, options) => {
    let compiler: Compile<unknown, Serializer> | undefined;
    const compile: Compile<unknown, Serializer> = (definition) => (compiler ??= buildSerializer(externalSchemas, options))(definition);
    return (definition) => {
      const serializer = deferred(compile, definition);
      return (data) => serializer()(data);
    };
  };
  return {
    // Fastify's types describe Ajv's own compile signature, not the route definition Fastify passes.
    options: {
      compilersFactory: {
        buildValidator: lazyValidators as unknown as AjvCompiler.ValidatorFactory,
        buildSerializer: lazySerializers as unknown as SerializerSelector.SerializerFactory,
      },
    },
    compileAll: () => {
      for (const compile of [...pending]) compile();
    },
  };
}
