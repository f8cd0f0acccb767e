import { Anchor, Container, Stack, Text, Title } from '@mantine/core';
import { Link } from 'react-router-dom';

export default function NotFoundPage() {
  return (
    <Container size="sm" py="xl">
      <Stack>
        <Title order={2}>Page not found</Title>
        <Text>
          Nothing lives at this address.{' '}
          <Anchor component={Link} to="/">
            Back to the dashboard
          </Anchor>
        </Text>
      </Stack>
    </Container>
  );
}
