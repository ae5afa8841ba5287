import { MutationCache, QueryCache, QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter } from 'react-router-dom';
import { ApiError } from './api.js';
import { App } from './App.js';
import { I18nProvider } from './i18n.js';

/** A 401 means the session ended (signed out elsewhere, or expired): back to the sign-in form. */
const signedOutOn401 = (err: unknown) => {
  if (err instanceof ApiError && err.status === 401) queryClient.setQueryData(['me'], null);
};

const queryClient: QueryClient = new QueryClient({
  queryCache: new QueryCache({ onError: signedOutOn401 }),
  mutationCache: new MutationCache({ onError: signedOutOn401 }),
  defaultOptions: {
    // A 4xx will not change by asking again; only network trouble is retried.
    queries: { retry: (count, err) => count < 2 && err instanceof ApiError && err.status === 0, refetchOnWindowFocus: false, staleTime: 5_000 },
  },
});

createRoot(document.getElementById('root') as HTMLElement).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <I18nProvider>
        <BrowserRouter>
          <App />
        </BrowserRouter>
      </I18nProvider>
    </QueryClientProvider>
  </StrictMode>,
);
