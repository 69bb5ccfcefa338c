// AWS adapters of the messaging ports: the SQS send queue and SES v2 SendEmail.
import { type SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SendQueue } from './enqueue.ts';
import { type EmailGateway, EmailSendError, type OutgoingEmail } from './sender.ts';

export class SqsSendQueue implements SendQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async enqueue(messageId: string): Promise<void> {
    await this.client.send(
      new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: JSON.stringify({ messageId }) }),
    );
  }
}

/** SES v2 errors by what the sender should do about them. */
const RETRYABLE = new Set(['TooManyRequestsException', 'ThrottlingException']);
// Sending is paused, or the daily quota (LimitExceededException) is used up: retry in minutes, not seconds.
const PAUSED = new Set(['SendingPausedException', 'AccountSuspendedException', 'LimitExceededException']);
const PERMANENT = new Set([
  'MessageRejected',
  'BadRequestException',
  'MailFromDomainNotVerifiedException',
  'NotFoundException',
]);

/** The tag SES puts on every event of the message, which is how feedback finds the message again. */
export const MESSAGE_ID_TAG = 'nurture-message-id';

export class SesEmailGateway implements EmailGateway {
  /** `client` must be created with `maxAttempts: 1`: an SDK retry after a lost answer would send twice. */
  constructor(
    private readonly client: SESv2Client,
    private readonly options: { from: string; configurationSet: string },
  ) {}

  async send(email: OutgoingEmail): Promise<{ sesMessageId: string }> {
    try {
      const result = await this.client.send(
        new SendEmailCommand({
          FromEmailAddress: this.options.from,
          Destination: { ToAddresses: [email.to] },
          ConfigurationSetName: this.options.configurationSet,
          EmailTags: [{ Name: MESSAGE_ID_TAG, Value: email.messageId }],
          Content: {
            Simple: {
              Subject: { Data: email.subject, Charset: 'UTF-8' },
              Body: {
                Html: { Data: email.html, Charset: 'UTF-8' },
                Text: { Data: email.text, Charset: 'UTF-8' },
              },
              Headers: email.headers.map(({ name, value }) => ({ Name: name, Value: value })),
            },
          },
        }),
      );
      if (!result.MessageId)
        throw new EmailSendError('unknown', 'NoMessageId', 'SES answered without a MessageId');
      return { sesMessageId: result.MessageId };
    } catch (error) {
      if (error instanceof EmailSendError) throw error;
      const name = error instanceof Error ? error.name : 'Error';
      const message = error instanceof Error ? error.message : String(error);
      if (RETRYABLE.has(name)) throw new EmailSendError('throttled', name, message);
      if (PAUSED.has(name)) throw new EmailSendError('paused', name, message);
      if (PERMANENT.has(name)) throw new EmailSendError('permanent', name, message);
      throw new EmailSendError('unknown', name, message);
    }
  }
}
